import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildTestPlatform, TEST_PASSWORD, type TestPlatform } from '../../../test/helpers.ts';
import Value from 'typebox/value';
import { createLockoutService, loginAccountKey, loginThrottle } from './lockout.ts';
import { LockoutPolicy, type LockoutPolicyType } from './lockout.policy.ts';

const BASELINE = Value.Default(LockoutPolicy, {}) as LockoutPolicyType;
const LOCKOUT_SECONDS = BASELINE.lock_seconds;

describe('failureDelayMs: the account-wide slowdown past 20 failures (FR-AUTH-004)', () => {
  test('no delay up to the threshold, then doubling from the base, capped at 30 s', () => {
    const { failureDelayMs } = createLockoutService(BASELINE);
    assert.deepEqual([1, 5, 20].map((n) => failureDelayMs(n, 1000)), [0, 0, 0]);
    assert.deepEqual([21, 22, 23].map((n) => failureDelayMs(n, 1000)), [2000, 4000, 8000]);
    assert.equal(failureDelayMs(80, 1000), 30_000);
    assert.equal(failureDelayMs(80, 0), 0, 'a first step of 0 turns it off');
  });
});

/** A problem body without the fields that differ on every request. */
function shape(body: Record<string, unknown>) {
  const { correlation_id: _correlation, instance: _instance, retry_after: _retry, ...rest } = body;
  return rest;
}

describe('account lockout per account and source (FR-AUTH-004, FR-AUTH-007)', () => {
  let t: TestPlatform;
  let acme: string;
  const USER_ADDRESS = '198.51.100.7';
  const ATTACKER = '203.0.113.9';

  const attempt = (email: string, password: string, from: { address?: string; device?: string; tenant?: string } = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: from.address ?? '127.0.0.1',
      payload: { email, password, tenant: from.tenant ?? 'acme', ...(from.device ? { device: { id: from.device } } : {}) },
    });
  /** The counter of one login name from one address, as the owner sees it. */
  async function counter(email: string, address = '127.0.0.1') {
    const { account, source } = loginThrottle(t.running.platform.throttleKeys, { tenant: acme, email, source: `address:${address}` });
    const rows = await sql<{ failures: number; locked_until: Date | null }>`select failures, locked_until from login_failures where account = ${account} and source = ${source}`.execute(t.db.owner);
    return rows.rows[0];
  }
  const expireLocks = (email: string) =>
    sql`update login_failures set locked_until = now() - interval '1 second' where account = ${loginAccountKey(t.running.platform.throttleKeys, { tenant: acme, email })}`.execute(t.db.owner);
  const lockEvents = (id: string) =>
    t.db.owner.selectFrom('audit_events').select(['category', 'severity', 'metadata']).where('action', '=', 'security.account_locked').where('resource_id', '=', id).execute();

  before(async () => {
    t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0 } } });
    acme = t.tenants.acme!.id;
  });
  after(() => t?.close());

  test('50 parallel wrong passwords from one address lock it out exactly once, at the fifth failure', async () => {
    const id = await t.addUser('acme', 'parallel@acme.example', 'member');
    const answers = await Promise.all(Array.from({ length: 50 }, () => attempt('parallel@acme.example', 'Wrong-Passw0rd!')));
    const judged = answers.filter((answer) => answer.statusCode === 401).length;
    assert.ok(answers.every((answer) => answer.statusCode === 401 || answer.statusCode === 429));
    assert.ok(judged >= 5);
    const state = await counter('parallel@acme.example');
    assert.equal(state!.failures, judged, 'every judged failure is counted, none lost');
    assert.ok(state!.locked_until && new Date(state!.locked_until).getTime() > Date.now() + (LOCKOUT_SECONDS - 60) * 1000);
    const events = await lockEvents(id);
    assert.equal(events.length, 1, 'one security event per lock');
    assert.equal(events[0]!.category, 'security');
    assert.equal((events[0]!.metadata as { failures: number }).failures, 5);
  });

  test('four failures do not lock; a success resets the counter', async () => {
    await t.addUser('acme', 'four@acme.example', 'member');
    for (let i = 0; i < 4; i++) assert.equal((await attempt('four@acme.example', 'Wrong-Passw0rd!')).statusCode, 401);
    assert.equal((await counter('four@acme.example'))!.locked_until, null);
    assert.equal((await attempt('four@acme.example', TEST_PASSWORD)).statusCode, 200);
    assert.equal(await counter('four@acme.example'), undefined);
    // The counter restarted: four more failures still do not lock.
    for (let i = 0; i < 4; i++) await attempt('four@acme.example', 'Wrong-Passw0rd!');
    assert.equal((await attempt('four@acme.example', TEST_PASSWORD)).statusCode, 200);
  });

  test('attack: a locked source gets 429 with Retry-After, the right password unchecked, and an unknown account that is "locked" answers the same', async () => {
    await t.addUser('acme', 'locked@acme.example', 'member');
    const known = (password: string) => attempt('locked@acme.example', password);
    const unknown = () => attempt('nobody@acme.example', 'Wrong-Passw0rd!');
    const unknownTenant = () => attempt('locked@acme.example', 'Wrong-Passw0rd!', { tenant: 'no-such-org' });
    for (let i = 0; i < 5; i++) {
      const failures = [await known('Wrong-Passw0rd!'), await unknown(), await unknownTenant()];
      assert.deepEqual(failures.map((answer) => answer.statusCode), [401, 401, 401]);
      assert.deepEqual(shape(failures[0]!.json()), shape(failures[1]!.json()));
    }
    const answers = [await known(TEST_PASSWORD), await known('Wrong-Passw0rd!'), await unknown(), await unknownTenant()];
    for (const answer of answers) {
      assert.equal(answer.statusCode, 429, answer.body);
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
      assert.equal(answer.json().type, '/problems/rate-limited');
      const retryAfter = Number(answer.headers['retry-after']);
      assert.ok(retryAfter > LOCKOUT_SECONDS - 120 && retryAfter <= LOCKOUT_SECONDS, `Retry-After ${retryAfter}`);
      assert.equal(answer.json().retry_after, retryAfter);
      assert.deepEqual(shape(answer.json()), shape(answers[0]!.json()));
      assert.deepEqual(Object.keys(answer.headers).sort(), Object.keys(answers[0]!.headers).sort());
    }
  });

  test('attack: failures from another address lock neither the user\'s own address nor their known device', async () => {
    await t.addUser('acme', 'target@acme.example', 'member');
    const signedIn = await attempt('target@acme.example', TEST_PASSWORD, { address: USER_ADDRESS });
    assert.equal(signedIn.statusCode, 200);
    const device = signedIn.json().device_id as string;
    for (let i = 0; i < 5; i++) assert.equal((await attempt('target@acme.example', 'Wrong-Passw0rd!', { address: ATTACKER })).statusCode, 401);
    assert.equal((await attempt('target@acme.example', TEST_PASSWORD, { address: ATTACKER })).statusCode, 429, 'the attacker\'s address is locked out, even with the password');
    assert.equal((await attempt('target@acme.example', TEST_PASSWORD, { address: ATTACKER, device: '7f1c2a4e-0b7d-4c3e-9a51-2d6f8e0c1b3a' })).statusCode, 429, 'a device id the account never signed in from is only its address');
    assert.equal((await attempt('target@acme.example', TEST_PASSWORD, { address: USER_ADDRESS })).statusCode, 200, 'the user\'s own address is not');
    assert.equal((await attempt('target@acme.example', TEST_PASSWORD, { address: ATTACKER, device })).statusCode, 200, 'nor their known device, even behind the attacker\'s address');
  });

  test('after the 15 minutes the right password signs in and clears the lock', async () => {
    await t.addUser('acme', 'later@acme.example', 'member');
    for (let i = 0; i < 5; i++) await attempt('later@acme.example', 'Wrong-Passw0rd!');
    assert.equal((await attempt('later@acme.example', TEST_PASSWORD)).statusCode, 429);
    await expireLocks('later@acme.example');
    assert.equal((await attempt('later@acme.example', TEST_PASSWORD)).statusCode, 200);
    assert.equal(await counter('later@acme.example'), undefined);
  });

  test('a failure after an expired lock locks again at once, with a new security event', async () => {
    const id = await t.addUser('acme', 'again@acme.example', 'member');
    for (let i = 0; i < 5; i++) await attempt('again@acme.example', 'Wrong-Passw0rd!');
    await expireLocks('again@acme.example');
    assert.equal((await attempt('again@acme.example', 'Wrong-Passw0rd!')).statusCode, 401);
    assert.ok(new Date((await counter('again@acme.example'))!.locked_until!).getTime() > Date.now());
    assert.equal((await lockEvents(id)).length, 2);
  });

  test('the counters name no account or address, and the app role reaches only those it names', async () => {
    const rows = (await sql`select * from login_failures`.execute(t.db.owner)).rows;
    assert.ok(rows.length > 0);
    assert.ok(!/acme\.example|127\.0\.0\.1|203\.0\.113/.test(JSON.stringify(rows)));
    const unlocked = await t.db.withWholeTenant(acme, (tx) => sql`update login_failures set locked_until = null`.execute(tx));
    assert.equal(Number(unlocked.numAffectedRows), 0, 'a statement that names no key unlocks nothing');
    assert.equal((await attempt('locked@acme.example', TEST_PASSWORD)).statusCode, 429);
  });
});

describe('failures spread over many addresses (FR-AUTH-004)', () => {
  test('only slow the answers down past 20 in an hour (identity.login_failure_delay_ms), and never lock the account', async () => {
    const t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 300 } } });
    try {
      await t.addUser('acme', 'spread@acme.example', 'member');
      const login = (password: string, address: string) =>
        t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: address, payload: { email: 'spread@acme.example', password, tenant: 'acme' } });
      // 20 failures from 5 addresses, 4 each: no address is locked out.
      for (let i = 0; i < 20; i++) assert.equal((await login('Wrong-Passw0rd!', `203.0.113.${10 + (i % 5)}`)).statusCode, 401);
      const started = Date.now();
      assert.equal((await login('Wrong-Passw0rd!', '203.0.113.20')).statusCode, 401);
      assert.ok(Date.now() - started >= 600, 'the 21st failure waits 2 × base');
      assert.equal((await login(TEST_PASSWORD, '198.51.100.7')).statusCode, 200, 'the account is not locked');
    } finally {
      await t.close();
    }
  });
});

describe('a uniform answer time for failed sign-ins (identity.login_failure_answer_ms)', () => {
  test('attack: a wrong password, an unknown address and an unknown organization all answer after the same padding (existence oracle)', async () => {
    const t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0, login_failure_answer_ms: 400 } } });
    try {
      await t.addUser('acme', 'padded@acme.example', 'member');
      const timed = async (email: string, password: string, tenant: string) => {
        const started = performance.now();
        const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant } });
        return { status: response.statusCode, ms: performance.now() - started };
      };
      for (const [email, tenant] of [['padded@acme.example', 'acme'], ['nobody@acme.example', 'acme'], ['padded@acme.example', 'no-such-organization']] as const) {
        const failed = await timed(email, 'Wrong-Passw0rd!', tenant);
        assert.equal(failed.status, 401);
        assert.ok(failed.ms >= 400, `${email} in ${tenant} answered after ${failed.ms.toFixed(0)} ms, before the padding`);
      }
      const signedIn = await timed('padded@acme.example', TEST_PASSWORD, 'acme');
      assert.equal(signedIn.status, 200, 'a sign-in that succeeds is not padded');
    } finally {
      await t.close();
    }
  });
});

describe('the lockout section of the product policy (FR-PROD-001)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await buildTestPlatform(
      {},
      {
        worker: false,
        policy: {
          identity: { login_failure_delay_ms: 0 },
          lockout: { failures_to_lock: 3, lock_seconds: 120, slowdown_after_failures: 6, slowdown_window_seconds: 60, slowdown_max_delay_ms: 5_000 },
        },
      },
    );
  });
  after(() => t?.close());
  const attempt = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant: 'acme' } });

  test('lockout.failures_to_lock and lockout.lock_seconds: the third failure locks, for two minutes', async () => {
    const id = await t.addUser('acme', 'three@acme.example', 'member');
    for (let i = 0; i < 3; i++) assert.equal((await attempt('three@acme.example', 'Wrong-Passw0rd!')).statusCode, 401);
    const locked = await attempt('three@acme.example', TEST_PASSWORD);
    assert.equal(locked.statusCode, 429);
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 60 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    const events = await t.db.owner.selectFrom('audit_events').select('metadata').where('action', '=', 'security.account_locked').where('resource_id', '=', id).execute();
    assert.deepEqual(events.map((event) => event.metadata), [{ failures: 3, threshold: 3, lockout_seconds: 120 }]);
  });

  test('lockout.slowdown_after_failures and lockout.slowdown_max_delay_ms: the delay starts past 6 and stops at 5 s', () => {
    const { failureDelayMs } = t.running.services.lockout;
    assert.deepEqual([6, 7, 8, 9].map((n) => failureDelayMs(n, 1000)), [0, 2000, 4000, 5000]);
  });

  test('lockout.slowdown_window_seconds: the account-wide count starts again once its minute is over', async () => {
    await t.addUser('acme', 'window@acme.example', 'member');
    const account = loginAccountKey(t.running.platform.throttleKeys, { tenant: t.tenants.acme!.id, email: 'window@acme.example' });
    const everywhere = async () => (await sql<{ failures: number }>`select failures from login_failures where account = ${account} and source = ''`.execute(t.db.owner)).rows[0]!.failures;
    await attempt('window@acme.example', 'Wrong-Passw0rd!');
    await attempt('window@acme.example', 'Wrong-Passw0rd!');
    assert.equal(await everywhere(), 2);
    await sql`update login_failures set window_start = now() - interval '90 seconds' where account = ${account}`.execute(t.db.owner);
    await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.50', payload: { email: 'window@acme.example', password: 'Wrong-Passw0rd!', tenant: 'acme' } });
    assert.equal(await everywhere(), 1, 'a window of 60 s is over after 90 s (the baseline hour would count 3)');
  });
});
