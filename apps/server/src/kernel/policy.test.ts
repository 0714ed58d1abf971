// FR-PROD-001: the product policy file is validated against the schema the modules' sections
// assemble; every problem is listed with its path and line, and the process stops with exit 78.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import Value from 'typebox/value';
import { Type } from 'typebox';
import { loadConfig } from './config.ts';
import { loadPolicy, parsePolicy, PolicyError, withPolicyChanges } from './policy.ts';
import { POLICY_SECTIONS } from '../start.ts';

const SERVER = path.resolve(import.meta.dirname, '..');
const baselineFile = loadConfig({ ENVIRONMENT: 'test' }).productPolicyFile;

function problemsOf(text: string) {
  try {
    parsePolicy('policy.yaml', text, POLICY_SECTIONS);
  } catch (error) {
    assert.ok(error instanceof PolicyError, String(error));
    return error.problems;
  }
  assert.fail('the policy was accepted');
}

describe('product policy (FR-PROD-001)', () => {
  test('the baseline file is valid and states exactly the defaults of every section', () => {
    const baseline = loadPolicy(baselineFile, POLICY_SECTIONS);
    for (const [name, section] of Object.entries(POLICY_SECTIONS)) {
      assert.deepEqual(baseline[name], Value.Default(section, {}), `section ${name}`);
      assert.deepEqual(Object.keys(baseline[name] as object).sort(), Object.keys(section.properties).sort(), `the baseline names every setting of ${name}`);
    }
  });

  test('a product names only what it changes: the rest is the baseline default', () => {
    const policy = parsePolicy('policy.yaml', 'product:\n  name: laundry\nidentity:\n  login_failure_delay_ms: 2000\n', POLICY_SECTIONS);
    assert.deepEqual(policy.identity, { ...(Value.Default(POLICY_SECTIONS.identity!, {}) as object), login_failure_delay_ms: 2000 });
    assert.deepEqual(policy.verification, Value.Default(POLICY_SECTIONS.verification!, {}));
  });

  test('every problem is listed with its path and line: unknown sections and settings, wrong types, values out of range', () => {
    const problems = problemsOf(
      [
        'product:', //                              1
        '  name: Laundry Co', //                    2  not a product name
        'identity:', //                             3
        '  login_failure_delay_ms: -1', //          4  below the minimum
        '  refresh_reuse_grace_seconds: soon', //   5  not a number
        '  login_delay: 5', //                      6  no such setting
        'messaging:', //                            7  no such section
        '  email: true', //                         8
      ].join('\n'),
    );
    const at = (p: string) => problems.filter((problem) => problem.path === p).map((problem) => problem.line);
    assert.deepEqual(at('product.name'), [2]);
    assert.deepEqual(at('identity.login_failure_delay_ms'), [4]);
    assert.deepEqual(at('identity.refresh_reuse_grace_seconds'), [5]);
    assert.deepEqual(at('identity.login_delay'), [6]);
    assert.deepEqual(at('messaging'), [7]);
    assert.match(problems.find((p) => p.path === 'identity.login_delay')!.message, /not a setting of this section \(identity\)/);
    assert.match(problems.find((p) => p.path === 'messaging')!.message, /not a setting of this policy/);
  });

  test('a file without its product, broken YAML and duplicate keys are refused with their lines', () => {
    assert.deepEqual(
      problemsOf('identity:\n  login_failure_delay_ms: 10\n').map((p) => p.path),
      ['product'],
    );
    const broken = problemsOf('product:\n  name: x\nidentity: [unclosed\n');
    assert.equal(broken[0]!.path, '');
    assert.ok(broken[0]!.line! >= 3, `line ${broken[0]!.line}`);
    const duplicate = problemsOf('product:\n  name: x\nidentity:\n  login_failure_delay_ms: 10\n  login_failure_delay_ms: 20\n');
    assert.equal(duplicate[0]!.line, 5);
  });

  test('an out-of-range value in each section is refused with its path', () => {
    const outOfRange = {
      'identity.password_min_length': 7,
      'identity.password_min_classes': 5,
      'identity.password_history': 25,
      'identity.password_min_strength': 1,
      'lockout.failures_to_lock': 2,
      'lockout.lock_seconds': 86_401,
      'lockout.slowdown_after_failures': 4,
      'lockout.slowdown_window_seconds': 59,
      'lockout.slowdown_max_delay_ms': 60_000,
      'mfa.step_up_max_age_seconds': 5,
      'mfa.challenge_attempts': 0,
      'mfa.recovery_codes': 21,
      'users.invitation_expiry_days': 31,
      'verification.code_lifetime_seconds': 299,
      'verification.codes_per_destination_per_hour': 0,
      'verification.codes_per_user_per_hour': 0,
      'verification.verify_attempts_per_hour': 101,
      'verification.verify_lockout_seconds': 30,
    };
    for (const [setting, value] of Object.entries(outOfRange)) {
      const [section, name] = setting.split('.');
      const problems = problemsOf(`product:\n  name: x\n${section}:\n  ${name}: ${value}\n`);
      assert.deepEqual(problems.map((p) => [p.path, p.line]), [[setting, 4]], setting);
    }
  });

  test('a changed policy is validated again', () => {
    const baseline = loadPolicy(baselineFile, POLICY_SECTIONS);
    assert.equal((withPolicyChanges(baseline, { identity: { login_failure_delay_ms: 0 } }, POLICY_SECTIONS).identity as { login_failure_delay_ms: number }).login_failure_delay_ms, 0);
    assert.throws(() => withPolicyChanges(baseline, { identity: { login_failure_delay_ms: 99_999 } }, POLICY_SECTIONS), PolicyError);
  });

  test('a section schema without defaults cannot slip through: the assembled schema refuses a missing section value', () => {
    const strict = { strict: Type.Object({ level: Type.Integer() }, { additionalProperties: false }) };
    assert.throws(() => parsePolicy('policy.yaml', 'product:\n  name: x\n', strict), (error: PolicyError) => error.problems.some((p) => p.path === 'strict'));
  });

  test('the process stops with exit 78 and the list of problems; PRODUCT names a folder under products/', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-policy-'));
    try {
      const file = path.join(dir, 'policy.yaml');
      fs.writeFileSync(file, 'product:\n  name: shop\nidentity:\n  login_failure_answer_ms: 9000\n  unknown_setting: 1\n');
      const run = (env: Record<string, string>) =>
        spawnSync(process.execPath, ['--import', 'tsx', path.join(SERVER, 'api.ts')], {
          env: { PATH: process.env.PATH, ENVIRONMENT: 'test', DATA_DIR: dir, LOG_LEVEL: 'silent', ...env },
          encoding: 'utf8',
          timeout: 60_000,
        });
      const bad = run({ PRODUCT_POLICY: file });
      assert.equal(bad.status, 78, bad.stderr);
      assert.match(bad.stderr, /line 4: identity\.login_failure_answer_ms: must be <= 5000/);
      assert.match(bad.stderr, /line 5: identity\.unknown_setting: is not a setting/);
      const missing = run({ PRODUCT: 'no-such-product' });
      assert.equal(missing.status, 78, missing.stderr);
      assert.match(missing.stderr, /products\/no-such-product\/policy\.yaml.*\n.*cannot be read/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
