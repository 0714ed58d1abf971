import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PASSWORD_MAX_LENGTH, PLATFORM_PASSWORD_POLICY, policyWeakerThanMinimum, unmetPasswordRules } from './password-policy.ts';

const rules = (password: string) => unmetPasswordRules(password).map((unmet) => unmet.rule);

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

  test('lengths count code points, not UTF-16 units: 11 emoji are 22 units but 11 characters', () => {
    assert.deepEqual(rules(`a1${'😀'.repeat(9)}`), ['min_length']);
    assert.deepEqual(rules(`a1${'😀'.repeat(10)}`), []);
  });

  test('more than 1024 characters fails max_length: long passwords are refused, never truncated', () => {
    const atLimit = `Aa1${'x'.repeat(PASSWORD_MAX_LENGTH - 3)}`;
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
    const unmet = unmetPasswordRules('qzvkx');
    assert.deepEqual(unmet.map((u) => u.rule), ['min_length', 'character_classes']);
    for (const { message } of unmet) assert.ok(message.length > 0);
  });
});

describe('password policy, tenant tightening, common and personal passwords (FR-AUTH-002)', () => {
  const tight = { minLength: 16, requireAllClasses: true, history: 8 };
  const ruleNames = (password: string, policy = PLATFORM_PASSWORD_POLICY, context = {}) => unmetPasswordRules(password, policy, context).map((unmet) => unmet.rule);

  test('a tenant policy asks for more length and all four classes', () => {
    assert.deepEqual(ruleNames('Correcthorse42!', tight), ['min_length']);
    assert.deepEqual(ruleNames('Correcthorse4242', tight), ['character_classes']);
    assert.deepEqual(ruleNames('Correcthorse42!!', tight), []);
  });

  test('a policy below the platform minimum is never applied and cannot be stored', () => {
    assert.deepEqual(ruleNames('Abcdefgh1!x', { minLength: 8, requireAllClasses: false, history: 1 }), ['min_length']);
    assert.equal(policyWeakerThanMinimum({ minLength: 8, requireAllClasses: false, history: 5 }).length, 1);
    assert.equal(policyWeakerThanMinimum({ minLength: 12, requireAllClasses: false, history: 4 }).length, 1);
    assert.deepEqual(policyWeakerThanMinimum(tight), []);
  });

  test('common passwords from the shipped list are refused, whatever their case', () => {
    assert.deepEqual(ruleNames('Qwerty123456'), ['common_password']);
    assert.deepEqual(ruleNames('QWERTY123456!'), []);
  });

  test('the email local part and the tenant slug may not appear in the password', () => {
    const context = { email: 'grace.hopper@example.com', tenantSlug: 'acme' };
    assert.deepEqual(ruleNames('My-Grace.Hopper-2024', PLATFORM_PASSWORD_POLICY, context), ['personal_information']);
    assert.deepEqual(ruleNames('Welcome-to-ACME-2024', PLATFORM_PASSWORD_POLICY, context), ['personal_information']);
    assert.deepEqual(ruleNames('Correcthorse42!', PLATFORM_PASSWORD_POLICY, context), []);
  });
});
