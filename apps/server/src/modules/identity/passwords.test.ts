import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildTestPlatform, eventually, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { normalizeEmail } from './identity.service.ts';
import { loginAccountKey } from '../lockout/index.ts';
import { PASSWORD_RESET_JOB } from './passwords.jobs.ts';

const RESET_JOB_KEYS = ['correlation_id', 'email', 'enqueued_by_tenant', 'ip', 'public_url', 'tenant', 'tenant_id', 'user_agent'];

const NEW_PASSWORD = 'Brand-New-Passw0rd!';

describe('normalizeEmail: one account per address, however it is spelled (FR-AUTH-002)', () => {
  test('fullwidth forms, upper case and IDN domains fold to one spelling', () => {
    assert.equal(normalizeEmail('ｍｅｍｂｅｒ＠ＡＣＭＥ.ｄｅｍｏ.ｔｅｓｔ'), 'member@acme.demo.test');
    assert.equal(normalizeEmail(' Member@ACME.Demo.Test '), 'member@acme.demo.test');
    assert.equal(normalizeEmail('user@BÜCHER.example'), 'user@xn--bcher-kva.example');
    assert.equal(normalizeEmail('user@bücher.example'), normalizeEmail('user@xn--bcher-kva.example'));
  });
});

describe('password change, reset by mail and tenant policy (FR-AUTH-002, FR-AUTH-003)', () => {
  let t: TestPlatform;
  let acme: string;
  let owner: Session;

  const login = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant: 'acme' } });
  const change = (session: Session, current_password: string, new_password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/me/password', headers: session.headers, payload: { current_password, new_password } });
  const me = (session: Session) => t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers });
  const requestReset = (email: string, tenant: string | undefined = 'acme') =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email, ...(tenant ? { tenant } : {}) } });
  const confirm = (token: string, new_password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token, new_password } });
  const mails = (recipient: string) =>
    t.db.owner.selectFrom('dev_mailbox').select(['body', 'tenant_id']).where('recipient', '=', recipient).where('subject', '=', 'Reset your password').orderBy('created_at').execute();
  /** Every password-reset job ever enqueued, read as the owner (the app roles cannot read payloads). */
  const resetJobs = async () =>
    (await sql<{ id: string; name: string; data: Record<string, unknown> }>`select id, name, data from pgboss.job where name = ${PASSWORD_RESET_JOB}`.execute(t.db.owner)).rows;
  const unmetRules = (response: { json(): unknown }) => ((response.json() as { unmet_rules?: { rule: string }[] }).unmet_rules ?? []).map((unmet) => unmet.rule);

  /** The newest reset link mailed to an address once the worker delivered `count` of them. */
  async function mailedToken(recipient: string, count = 1): Promise<string> {
    const delivered = await eventually(async () => {
      const rows = await mails(recipient);
      return rows.length >= count ? rows : null;
    });
    const match = /http:\/\/localhost:3000\/#\/reset-password\?token=(\S+)/.exec(delivered.at(-1)!.body);
    assert.ok(match, delivered.at(-1)!.body);
    assert.equal(delivered.at(-1)!.tenant_id, acme);
    return decodeURIComponent(match[1]!);
  }

  before(async () => {
    t = await buildTestPlatform({}, { policy: { identity: { login_failure_delay_ms: 0 } } });
    acme = t.tenants.acme!.id;
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(() => t?.close());

  test('change needs the current password, applies the rules, and ends every other session', async () => {
    await t.addUser('acme', 'changer@acme.example', 'member');
    const here = await t.login('changer@acme.example', 'acme');
    const elsewhere = await t.login('changer@acme.example', 'acme');
    assert.equal((await change(here, 'Not-The-Passw0rd!', NEW_PASSWORD)).statusCode, 403);
    const common = await change(here, TEST_PASSWORD, 'Qwerty123456');
    assert.equal(common.statusCode, 400);
    assert.deepEqual(unmetRules(common), ['common_password']);
    assert.deepEqual(unmetRules(await change(here, TEST_PASSWORD, 'Changer-2024-Secret')), ['personal_information']);
    assert.deepEqual(unmetRules(await change(here, TEST_PASSWORD, TEST_PASSWORD)), ['history'], 'the current password is the newest in the history');
    assert.equal((await me(elsewhere)).statusCode, 200, 'refused changes end nothing');

    assert.equal((await change(here, TEST_PASSWORD, NEW_PASSWORD)).statusCode, 204);
    assert.equal((await me(here)).statusCode, 200, 'the session that changed the password stays');
    assert.equal((await me(elsewhere)).statusCode, 401, 'every other session ends');
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: elsewhere.refreshToken } });
    assert.equal(refreshed.statusCode, 401);
    assert.equal((await login('changer@acme.example', TEST_PASSWORD)).statusCode, 401);
    assert.equal((await login('changer@acme.example', NEW_PASSWORD)).statusCode, 200);
    const event = await t.db.owner.selectFrom('audit_events').select('action').where('action', '=', 'auth.password_changed').where('tenant_id', '=', acme).executeTakeFirst();
    assert.ok(event);
  });

  test('attack: breached passwords with letters swapped or digits added, and easily guessed ones, are refused at change and reset', async () => {
    await t.addUser('acme', 'variants@acme.example', 'member', { password: NEW_PASSWORD });
    const session = await t.login('variants@acme.example', 'acme', NEW_PASSWORD);
    for (const breached of ['Password123!', 'P@ssw0rd1234', 'Summer2026!!']) {
      const refused = await change(session, NEW_PASSWORD, breached);
      assert.equal(refused.statusCode, 400, breached);
      assert.equal(refused.json().type, '/problems/weak-password');
      assert.deepEqual(unmetRules(refused), ['common_password'], breached);
    }
    const guessable = await change(session, NEW_PASSWORD, 'Qwerty-Qwerty-1');
    assert.deepEqual(unmetRules(guessable), ['guessable']);
    assert.match(guessable.json().unmet_rules[0].message, /easy to guess/, 'the estimator names the weakness');
    await requestReset('variants@acme.example');
    const token = await mailedToken('variants@acme.example');
    assert.deepEqual(unmetRules(await confirm(token, 'P@ssw0rd1234')), ['common_password']);
    assert.equal((await change(session, NEW_PASSWORD, 'Velvet canyon ribbon lantern')).statusCode, 204, 'a strong passphrase is accepted');
  });

  test('the last 5 passwords are refused, the 6th back is accepted', async () => {
    await t.addUser('acme', 'history@acme.example', 'member');
    const session = await t.login('history@acme.example', 'acme');
    const sequence = [1, 2, 3, 4, 5].map((n) => `Rotating-Secret-${n}!`);
    let current = TEST_PASSWORD;
    for (const next of sequence) {
      assert.equal((await change(session, current, next)).statusCode, 204);
      current = next;
    }
    // The history holds passwords 1..5 now; the original (6th back) may be used again.
    assert.deepEqual(unmetRules(await change(session, current, sequence[0]!)), ['history']);
    assert.equal((await change(session, current, TEST_PASSWORD)).statusCode, 204);
  });

  test('platform staff get the same history rule on change and reset (FR-AUTH-002)', async () => {
    const staff = await t.login('operator@demo.test');
    const sequence = [1, 2, 3, 4, 5].map((n) => `Staff-Rotating-Secret-${n}!`);
    let current = TEST_PASSWORD;
    for (const next of sequence) {
      assert.equal((await change(staff, current, next)).statusCode, 204);
      current = next;
    }
    const reused = await change(staff, current, sequence[0]!);
    assert.equal(reused.statusCode, 400, 'a password from the history is refused');
    assert.deepEqual(unmetRules(reused), ['history']);
    // No organization named: the staff member's own reset link.
    await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'operator@demo.test' } });
    const token = await eventually(async () => {
      const rows = await mails('operator@demo.test');
      return /token=(\S+)/.exec(rows.at(-1)?.body ?? '')?.[1];
    });
    const reusedAtReset = await confirm(decodeURIComponent(token), sequence[1]!);
    assert.equal(reusedAtReset.statusCode, 400, 'the history applies to a reset too');
    assert.deepEqual(unmetRules(reusedAtReset), ['history']);
    // The original password is the 6th back now: it may be used again.
    assert.equal((await confirm(decodeURIComponent(token), TEST_PASSWORD)).statusCode, 204);
  });

  test('128 characters are accepted whole and a 129th character matters', async () => {
    await t.addUser('acme', 'long@acme.example', 'member');
    const session = await t.login('long@acme.example', 'acme');
    const phrase = 'Velvet-Canyon-Ribbon-42';
    const long128 = Array.from({ length: 128 }, (_, i) => phrase[i % phrase.length]).join('');
    assert.equal((await change(session, TEST_PASSWORD, long128)).statusCode, 204);
    assert.equal((await login('long@acme.example', long128)).statusCode, 200);
    assert.equal((await login('long@acme.example', `${long128.slice(0, 127)}y`)).statusCode, 401, 'the 128th character counts');
    const again = await t.login('long@acme.example', 'acme', long128);
    const long129 = `${long128}Z`;
    assert.equal((await change(again, long128, long129)).statusCode, 204);
    assert.equal((await login('long@acme.example', long129)).statusCode, 200);
    assert.equal((await login('long@acme.example', long128)).statusCode, 401, 'no truncation to 128');
    assert.equal((await login('long@acme.example', long129.toLowerCase())).statusCode, 401, 'no case folding');
  });

  test('reset: the link goes to the stored address, works once, and ends every session', async () => {
    await t.addUser('acme', 'reset@acme.example', 'member');
    const session = await t.login('reset@acme.example', 'acme');
    // A look-alike spelling (fullwidth, upper case) reaches the same account, and the mail goes to the stored address.
    const asked = await requestReset('ＲＥＳＥＴ@ACME.example');
    assert.equal(asked.statusCode, 202);
    const token = await mailedToken('reset@acme.example');
    assert.ok(token.startsWith(`${acme}.`));

    assert.deepEqual(unmetRules(await confirm(token, TEST_PASSWORD)), ['history'], 'policy and history apply to a reset');
    assert.deepEqual(unmetRules(await confirm(token, 'Qwerty123456')), ['common_password']);
    assert.equal((await confirm(token, NEW_PASSWORD)).statusCode, 204);
    assert.equal((await confirm(token, 'Another-Passw0rd!')).statusCode, 410, 'single use');
    assert.equal((await me(session)).statusCode, 401, 'every session ends');
    assert.equal((await login('reset@acme.example', TEST_PASSWORD)).statusCode, 401);
    assert.equal((await login('reset@acme.example', NEW_PASSWORD)).statusCode, 200);
    assert.equal((await confirm(`${acme}.${'x'.repeat(43)}`, NEW_PASSWORD)).statusCode, 410);
    assert.equal((await confirm('garbage-token', NEW_PASSWORD)).statusCode, 410);
  });

  test('reset clears a lockout', async () => {
    await t.addUser('acme', 'lockedout@acme.example', 'member');
    for (let i = 0; i < 5; i++) await login('lockedout@acme.example', 'Wrong-Passw0rd!');
    assert.equal((await login('lockedout@acme.example', TEST_PASSWORD)).statusCode, 429);
    await requestReset('lockedout@acme.example');
    assert.equal((await confirm(await mailedToken('lockedout@acme.example'), NEW_PASSWORD)).statusCode, 204);
    assert.equal((await login('lockedout@acme.example', NEW_PASSWORD)).statusCode, 200);
    const account = loginAccountKey(t.running.platform.throttleKeys, { tenant: acme, email: 'lockedout@acme.example' });
    assert.deepEqual((await sql`select 1 from login_failures where account = ${account}`.execute(t.db.owner)).rows, [], 'every counter of the account is gone');
  });

  test('an expired link is refused', async () => {
    const id = await t.addUser('acme', 'expired@acme.example', 'member');
    await requestReset('expired@acme.example');
    const token = await mailedToken('expired@acme.example');
    await t.db.owner.updateTable('password_resets').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', id).execute();
    assert.equal((await confirm(token, NEW_PASSWORD)).statusCode, 410);
    assert.equal((await login('expired@acme.example', TEST_PASSWORD)).statusCode, 200, 'the password did not change');
  });

  test('unknown addresses, organizations and the 4th request in an hour answer the same and mail nothing', async () => {
    const id = await t.addUser('acme', 'often@acme.example', 'member');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await requestReset('often@acme.example'));
    answers.push(await requestReset('nobody@acme.example'));
    answers.push(await requestReset('often@acme.example', 'no-such-tenant'));
    answers.push(await requestReset('often@acme.example', undefined));
    for (const answer of answers) {
      assert.equal(answer.statusCode, 202);
      assert.deepEqual(answer.json(), answers[0]!.json());
    }
    await mailedToken('often@acme.example', 3);
    await eventually(async () => ((await t.running.platform.jobs.depth(PASSWORD_RESET_JOB)) === 0 ? true : null));
    const resets = await t.db.owner.selectFrom('password_resets').select('id').where('user_id', '=', id).execute();
    assert.equal(resets.length, 3, 'the 4th request issued no link');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await mails('often@acme.example')).length, 3);
    assert.equal((await mails('nobody@acme.example')).length, 0);
  });

  test('attack: a reset request takes the same path for every address, so its timing tells nothing (existence oracle)', async () => {
    await t.addUser('acme', 'oracle@acme.example', 'member');
    const queued = async (email: string, tenant?: string) => {
      const before = await resetJobs();
      assert.equal((await requestReset(email, tenant)).statusCode, 202);
      const added = (await resetJobs()).filter((job) => !before.some((seen) => seen.id === job.id));
      return added.map((job) => ({ name: job.name, keys: Object.keys(job.data).sort() }));
    };
    const existing = await queued('oracle@acme.example');
    assert.deepEqual(existing, [{ name: PASSWORD_RESET_JOB, keys: RESET_JOB_KEYS }], 'the request only enqueues the job');
    assert.deepEqual(await queued('nobody-here@acme.example'), existing, 'an unknown address: the same');
    assert.deepEqual(await queued('oracle@acme.example', 'no-such-tenant'), existing, 'an unknown organization: the same');
    await mailedToken('oracle@acme.example');
    assert.equal((await mails('nobody-here@acme.example')).length, 0);
  });

  test('a tenant tightens the policy but can never weaken it', async () => {
    const url = `/v1/tenants/${acme}/password-policy`;
    const put = (session: Session, payload: object) => t.app.inject({ method: 'PUT', url, headers: session.headers, payload });
    assert.deepEqual((await t.app.inject({ method: 'GET', url, headers: owner.headers })).json(), { tenant_id: acme, min_length: 12, require_all_classes: false, history: 5, min_strength: 3, version: 0 });
    for (const weaker of [{ min_length: 8, require_all_classes: false, history: 5 }, { min_length: 12, require_all_classes: false, history: 3 }, { min_length: 12, require_all_classes: false, history: 5, min_strength: 2 }]) {
      assert.equal((await put(owner, weaker)).statusCode, 400);
    }
    assert.equal((await t.app.inject({ method: 'GET', url, headers: owner.headers })).json().version, 0, 'a refused policy changes nothing');
    const member = await t.login('member@acme.demo.test', 'acme');
    assert.equal((await put(member, { min_length: 16, require_all_classes: true, history: 8 })).statusCode, 403);

    const saved = await put(owner, { min_length: 16, require_all_classes: true, history: 8 });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.deepEqual(saved.json(), { tenant_id: acme, min_length: 16, require_all_classes: true, history: 8, min_strength: 3, version: 1 });
    await t.addUser('acme', 'tight@acme.example', 'member');
    const session = await t.login('tight@acme.example', 'acme');
    assert.deepEqual(unmetRules(await change(session, TEST_PASSWORD, 'Correcthorse42!')), ['min_length']);
    assert.deepEqual(unmetRules(await change(session, TEST_PASSWORD, 'Correcthorse424242')), ['character_classes']);
    const strongest = await put(owner, { min_length: 16, require_all_classes: true, history: 8, min_strength: 4 });
    assert.equal(strongest.json().min_strength, 4);
    assert.deepEqual(unmetRules(await change(session, TEST_PASSWORD, 'Correcthorse42!!')), ['guessable'], 'score 3 is not enough now');
    assert.equal((await change(session, TEST_PASSWORD, 'Correct-horse-4242')).statusCode, 204);
    // Restore the platform minimum's values for the other tests of this tenant.
    assert.equal((await put(owner, { min_length: 12, require_all_classes: false, history: 5 })).statusCode, 200);
  });
});

describe("the product's password minimum (identity.password_*): tightened by a tenant, never weakened", () => {
  test('a product minimum of 14 characters and history 6 is what a tenant without a policy gets, and no tenant goes below it', async () => {
    const t = await buildTestPlatform({}, { worker: false, policy: { identity: { password_min_length: 14, password_history: 6 } } });
    try {
      const acme = t.tenants.acme!.id;
      const owner = await t.login('owner@acme.demo.test', 'acme');
      const url = `/v1/tenants/${acme}/password-policy`;
      assert.deepEqual((await t.app.inject({ method: 'GET', url, headers: owner.headers })).json(), { tenant_id: acme, min_length: 14, require_all_classes: false, history: 6, min_strength: 3, version: 0 });
      const put = (payload: object) => t.app.inject({ method: 'PUT', url, headers: owner.headers, payload });
      const belowLength = await put({ min_length: 12, require_all_classes: false, history: 6 });
      assert.equal(belowLength.statusCode, 400, 'the baseline minimum is below this product\'s');
      assert.match(belowLength.json().detail, /min_length must be at least 14/);
      assert.equal((await put({ min_length: 14, require_all_classes: false, history: 5 })).statusCode, 400);
      assert.equal((await put({ min_length: 16, require_all_classes: false, history: 6 })).statusCode, 200);

      await t.addUser('acme', 'short@acme.example', 'member');
      const session = await t.login('short@acme.example', 'acme');
      const changed = await t.app.inject({ method: 'POST', url: '/v1/me/password', headers: session.headers, payload: { current_password: TEST_PASSWORD, new_password: 'Correcthorse42!' } });
      assert.equal(changed.statusCode, 400);
      assert.deepEqual((changed.json() as { unmet_rules: { rule: string }[] }).unmet_rules.map((unmet) => unmet.rule), ['min_length'], '15 characters: enough for the baseline, not for 16');
    } finally {
      await t.close();
    }
  });
});
