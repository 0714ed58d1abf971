import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, TEST_PASSWORD, type TestPlatform } from '../../../test/helpers.ts';
import { failureDelayMs, LOCKOUT_SECONDS } from './lockout.ts';

describe('failureDelayMs: the progressive delay past the threshold (FR-AUTH-004)', () => {
  test('no delay up to the threshold, then doubling from the base, capped at 30 s', () => {
    assert.deepEqual([1, 4, 5].map((n) => failureDelayMs(n, 1000)), [0, 0, 0]);
    assert.deepEqual([6, 7, 8].map((n) => failureDelayMs(n, 1000)), [2000, 4000, 8000]);
    assert.equal(failureDelayMs(50, 1000), 30_000);
    assert.equal(failureDelayMs(50, 0), 0, 'LOGIN_FAILURE_DELAY_MS=0 turns it off');
  });
});

describe('account lockout (FR-AUTH-004)', () => {
  let t: TestPlatform;

  const attempt = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant: 'acme' } });
  /** A problem body without the fields that differ on every request. */
  const shape = (body: Record<string, unknown>) => {
    const { correlation_id: _correlation, instance: _instance, ...rest } = body;
    return rest;
  };
  const lockState = (id: string) =>
    t.db.owner.selectFrom('users').select(['failed_login_count', 'locked_until']).where('id', '=', id).executeTakeFirstOrThrow();
  const lockEvents = (id: string) =>
    t.db.owner.selectFrom('audit_events').select(['category', 'severity', 'metadata']).where('action', '=', 'security.account_locked').where('resource_id', '=', id).execute();

  before(async () => {
    t = await buildTestPlatform({ LOGIN_FAILURE_DELAY_MS: '0' }, { worker: false });
  });
  after(() => t?.close());

  test('50 parallel wrong passwords lock the account exactly once, at the fifth failure', async () => {
    const id = await t.addUser('acme', 'parallel@acme.example', 'member');
    const answers = await Promise.all(Array.from({ length: 50 }, () => attempt('parallel@acme.example', 'Wrong-Passw0rd!')));
    assert.ok(answers.every((answer) => answer.statusCode === 401));
    const state = await lockState(id);
    assert.equal(state.failed_login_count, 50, 'every failure is counted, none lost');
    assert.ok(state.locked_until && state.locked_until.getTime() > Date.now() + (LOCKOUT_SECONDS - 60) * 1000);
    const events = await lockEvents(id);
    assert.equal(events.length, 1, 'one security event per lock');
    assert.equal(events[0]!.category, 'security');
    assert.equal((events[0]!.metadata as { failures: number }).failures, 5);
  });

  test('four failures do not lock; a success resets the counter', async () => {
    const id = await t.addUser('acme', 'four@acme.example', 'member');
    for (let i = 0; i < 4; i++) assert.equal((await attempt('four@acme.example', 'Wrong-Passw0rd!')).statusCode, 401);
    assert.equal((await lockState(id)).locked_until, null);
    assert.equal((await attempt('four@acme.example', TEST_PASSWORD)).statusCode, 200);
    assert.equal((await lockState(id)).failed_login_count, 0);
    // The counter restarted: four more failures still do not lock.
    for (let i = 0; i < 4; i++) await attempt('four@acme.example', 'Wrong-Passw0rd!');
    assert.equal((await attempt('four@acme.example', TEST_PASSWORD)).statusCode, 200);
  });

  test('a locked account with the right password answers exactly like a wrong password and an unknown user', async () => {
    await t.addUser('acme', 'locked@acme.example', 'member');
    for (let i = 0; i < 5; i++) await attempt('locked@acme.example', 'Wrong-Passw0rd!');
    const right = await attempt('locked@acme.example', TEST_PASSWORD);
    const wrong = await attempt('locked@acme.example', 'Wrong-Passw0rd!');
    const unknown = await attempt('nobody@acme.example', 'Wrong-Passw0rd!');
    assert.equal(right.statusCode, 401);
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.deepEqual(shape(right.json()), shape(wrong.json()));
    assert.deepEqual(shape(right.json()), shape(unknown.json()));
    assert.deepEqual(Object.keys(right.headers).sort(), Object.keys(unknown.headers).sort());
  });

  test('after the 15 minutes the right password signs in and clears the lock', async () => {
    const id = await t.addUser('acme', 'later@acme.example', 'member');
    for (let i = 0; i < 5; i++) await attempt('later@acme.example', 'Wrong-Passw0rd!');
    assert.equal((await attempt('later@acme.example', TEST_PASSWORD)).statusCode, 401);
    await t.db.owner.updateTable('users').set({ locked_until: new Date(Date.now() - 1000) }).where('id', '=', id).execute();
    assert.equal((await attempt('later@acme.example', TEST_PASSWORD)).statusCode, 200);
    const state = await lockState(id);
    assert.equal(state.failed_login_count, 0);
    assert.equal(state.locked_until, null);
  });

  test('a failure after an expired lock locks again at once, with a new security event', async () => {
    const id = await t.addUser('acme', 'again@acme.example', 'member');
    for (let i = 0; i < 5; i++) await attempt('again@acme.example', 'Wrong-Passw0rd!');
    await t.db.owner.updateTable('users').set({ locked_until: new Date(Date.now() - 1000) }).where('id', '=', id).execute();
    await attempt('again@acme.example', 'Wrong-Passw0rd!');
    assert.ok((await lockState(id)).locked_until!.getTime() > Date.now());
    assert.equal((await lockEvents(id)).length, 2);
  });

  test('the delay past the threshold is applied (LOGIN_FAILURE_DELAY_MS)', async () => {
    const slow = await buildTestPlatform({ LOGIN_FAILURE_DELAY_MS: '300' }, { worker: false });
    try {
      await slow.addUser('acme', 'slow@acme.example', 'member');
      const login = () => slow.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'slow@acme.example', password: 'Wrong-Passw0rd!', tenant: 'acme' } });
      for (let i = 0; i < 5; i++) await login();
      const started = Date.now();
      await login();
      assert.ok(Date.now() - started >= 600, 'the sixth failure waits 2 × base');
    } finally {
      await slow.close();
    }
  });
});
