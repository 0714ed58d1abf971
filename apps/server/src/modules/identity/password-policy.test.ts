import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Value from 'typebox/value';
import { IdentityPolicy, passwordMinimumOf, type IdentityPolicyType } from './identity.policy.ts';
import { minimumPolicy, PASSWORD_MAX_LENGTH, policyWeakerThanMinimum, unmetPasswordRules } from './password-policy.ts';

/** The baseline's minimum (the identity section's defaults) and the policy of a tenant that set none. */
const MINIMUM = passwordMinimumOf(Value.Default(IdentityPolicy, {}) as IdentityPolicyType);
const PLATFORM_PASSWORD_POLICY = minimumPolicy(MINIMUM);
const rules = (password: string) => unmetPasswordRules(password, PLATFORM_PASSWORD_POLICY, MINIMUM).map((unmet) => unmet.rule);

describe('password policy, platform minimum (FR-AUTH-002)', () => {
  test('a long password mixing three classes passes', () => {
    assert.deepEqual(rules('correct-horse-42'), []);
    assert.deepEqual(rules('Correcthorse42'), []);
    assert.deepEqual(rules('CORRECT HORSE 42'), [], 'upper, digit and space (other)');
  });

  test('fewer than 12 characters fails min_length; 12 is enough', () => {
    assert.deepEqual(rules('Abcdefgh1!x'), ['min_length']);
    assert.deepEqual(rules('Abcdefgh1!xy'), []);
  });

  test('lengths count code points, not UTF-16 units: 11 characters are 20 units here', () => {
    assert.deepEqual(rules('a1😀🎉🐙🌵🚲🎈🦊🍋🧭'), ['min_length']);
    assert.deepEqual(rules('a1😀🎉🐙🌵🚲🎈🦊🍋🧭🪁'), []);
  });

  test('more than 1024 characters fails max_length: long passwords are refused, never truncated', () => {
    const phrase = 'Velvet-Canyon-Ribbon-42';
    const atLimit = Array.from({ length: PASSWORD_MAX_LENGTH }, (_, i) => phrase[i % phrase.length]).join('');
    assert.deepEqual(rules(atLimit), []);
    assert.deepEqual(rules(`${atLimit}y`), ['max_length']);
  });

  test('fewer than three classes fails character_classes', () => {
    assert.deepEqual(rules('alllowercaseletters'), ['character_classes']);
    assert.deepEqual(rules('lowercaseand12345'), ['character_classes']);
    assert.deepEqual(rules('UPPERCASEONLYHERE'), ['character_classes']);
  });

  test('cased letters of any script count by their case (no case folding)', () => {
    assert.deepEqual(rules('ÄÖÜäöüßçéèñ1'), []);
    assert.deepEqual(rules('日本語のパスワードです12'), ['character_classes'], 'caseless letters are other characters');
  });

  test('every unmet rule is listed with a message', () => {
    const unmet = unmetPasswordRules('qzvkx', PLATFORM_PASSWORD_POLICY, MINIMUM);
    assert.deepEqual(unmet.map((u) => u.rule), ['min_length', 'character_classes', 'guessable']);
    for (const { message } of unmet) assert.ok(message.length > 0);
  });
});

describe('password policy, tenant tightening, common and personal passwords (FR-AUTH-002)', () => {
  const tight = { minLength: 16, requireAllClasses: true, history: 8, minStrength: 3 };
  const ruleNames = (password: string, policy = PLATFORM_PASSWORD_POLICY, context = {}) => unmetPasswordRules(password, policy, MINIMUM, context).map((unmet) => unmet.rule);

  test('a tenant policy asks for more length and all four classes', () => {
    assert.deepEqual(ruleNames('Correcthorse42!', tight), ['min_length']);
    assert.deepEqual(ruleNames('Correcthorse4242', tight), ['character_classes']);
    assert.deepEqual(ruleNames('Correcthorse42!!', tight), []);
  });

  test('a policy below the platform minimum is never applied and cannot be stored', () => {
    assert.deepEqual(ruleNames('Abcdefgh1!x', { minLength: 8, requireAllClasses: false, history: 1, minStrength: 0 }), ['min_length']);
    assert.deepEqual(ruleNames('1q2w3e4r5t6yU', { ...PLATFORM_PASSWORD_POLICY, minStrength: 0 }), ['guessable']);
    assert.equal(policyWeakerThanMinimum({ minLength: 8, requireAllClasses: false, history: 5, minStrength: 3 }, MINIMUM).length, 1);
    assert.equal(policyWeakerThanMinimum({ minLength: 12, requireAllClasses: false, history: 4, minStrength: 3 }, MINIMUM).length, 1);
    assert.equal(policyWeakerThanMinimum({ minLength: 12, requireAllClasses: false, history: 5, minStrength: 2 }, MINIMUM).length, 1);
    assert.deepEqual(policyWeakerThanMinimum(tight, MINIMUM), []);
  });

  test('common passwords from the shipped list are refused, whatever their case, with digits and symbols added or letters swapped', () => {
    assert.deepEqual(ruleNames('Qwerty123456'), ['common_password']);
    assert.deepEqual(ruleNames('QWERTY123456!'), ['common_password']);
    for (const variant of ['Password123!', 'P@ssw0rd1234', 'Summer2026!!', '!!Dragon2026', 'Sunfl0wer-2026', 'L3tme1n!2026']) {
      assert.deepEqual(ruleNames(variant), ['common_password'], variant);
    }
    assert.deepEqual(ruleNames('Velvet canyon ribbon lantern'), [], 'a passphrase of common words is not a common password');
  });

  test('a password easy to guess is refused with the estimator\'s warning; a tenant may ask for the strongest score', () => {
    const unmet = unmetPasswordRules('Qwerty-Qwerty-1', PLATFORM_PASSWORD_POLICY, MINIMUM);
    assert.deepEqual(unmet.map((u) => u.rule), ['guessable']);
    assert.match(unmet[0]!.message, /^Repeated character patterns like "abcabcabc" are easy to guess\./);
    assert.deepEqual(ruleNames('1q2w3e4r5t6yU'), ['guessable'], 'a keyboard walk');
    assert.deepEqual(ruleNames('Correcthorse42!!'), [], 'score 3');
    assert.deepEqual(ruleNames('Correcthorse42!!', { ...PLATFORM_PASSWORD_POLICY, minStrength: 4 }), ['guessable']);
    assert.deepEqual(ruleNames('Velvet canyon ribbon lantern', { ...PLATFORM_PASSWORD_POLICY, minStrength: 4 }), []);
  });

  test('the demo and test passwords pass the platform minimum', () => {
    assert.deepEqual(ruleNames('Test-Demo-Passw0rd!'), []);
    assert.deepEqual(ruleNames('Demo-q4Hk2vXb7LmN-1'), [], 'the shape of a generated demo password');
  });

  test('the email local part and the tenant slug may not appear in the password', () => {
    const context = { email: 'grace.hopper@example.com', tenantSlug: 'acme' };
    assert.deepEqual(ruleNames('My-Grace.Hopper-2024', PLATFORM_PASSWORD_POLICY, context), ['personal_information']);
    assert.deepEqual(ruleNames('Welcome-to-ACME-2024', PLATFORM_PASSWORD_POLICY, context), ['personal_information']);
    assert.deepEqual(ruleNames('Correcthorse42!', PLATFORM_PASSWORD_POLICY, context), []);
  });
});

describe('a product minimum of its own (identity.password_*)', () => {
  test('a product asking for 14 characters and all four classes refuses what the baseline accepts, and a tenant policy below it', () => {
    const minimum = { minLength: 14, classes: 4, history: 5, minStrength: 3 };
    assert.deepEqual(unmetPasswordRules('Correcthorse42', PLATFORM_PASSWORD_POLICY, MINIMUM).map((unmet) => unmet.rule), []);
    assert.deepEqual(unmetPasswordRules('Correcthorse42', minimumPolicy(minimum), minimum).map((unmet) => unmet.rule), ['character_classes']);
    assert.deepEqual(unmetPasswordRules('Correcthors4!', PLATFORM_PASSWORD_POLICY, minimum).map((unmet) => unmet.rule), ['min_length'], 'a tenant policy stored under a lower minimum is tightened to it');
    assert.deepEqual(policyWeakerThanMinimum(PLATFORM_PASSWORD_POLICY, minimum), ['min_length must be at least 14.']);
  });
});
