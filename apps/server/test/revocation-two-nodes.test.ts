import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/kernel/log.ts';
import { startPlatform, type Running } from '../src/start.ts';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

/**
 * FR-AUTH-005, FR-TEN-002: a revocation made on one node takes effect on every node within a
 * second, although each node caches live sessions for SESSION_CACHE_TTL_MS (30 s by default).
 * The NOTIFY on the sessions channel is what evicts the other node's cache entry.
 */
const PROPAGATION_LIMIT_MS = 1_000;

describe('revocation across two nodes on one database', () => {
  let t: TestPlatform;
  let nodeB: Running;
  let operator: Session;

  const meOnB = (session: Session) => nodeB.app!.inject({ method: 'GET', url: '/v1/me', headers: session.headers });

  /** Polls node B until the session gets 401; returns how long that took after `since`. */
  async function propagation(session: Session, since: number): Promise<number> {
    for (;;) {
      const response = await meOnB(session);
      const elapsed = performance.now() - since;
      if (response.statusCode === 401) return elapsed;
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(elapsed < PROPAGATION_LIMIT_MS, `node B still accepted the session after ${elapsed.toFixed(0)} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    // The same configuration (and so the same signing key in DATA_DIR) and the same database;
    // its own session cache and, on PostgreSQL, its own LISTEN connection.
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    operator = await t.login('operator@demo.test');
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
  });

  test('the two nodes are separate: separate apps and separate session caches', () => {
    assert.notEqual(nodeB.app, t.app);
    assert.notEqual(nodeB.platform.sessions, t.running.platform.sessions);
    assert.ok(t.config.sessionCacheTtlMs > PROPAGATION_LIMIT_MS, 'the cache TTL alone would be too slow, so the test proves NOTIFY');
  });

  test('logout on node A ends the session on node B within a second', async () => {
    const session = await t.login('member@acme.demo.test', 'acme');
    const response = await meOnB(session);
    assert.equal(response.statusCode, 200, response.body);
    const sessionId = response.json().session_id as string;
    assert.ok(nodeB.platform.sessions.get(sessionId), 'node B now holds the session in its cache');

    const logout = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: session.headers });
    assert.equal(logout.statusCode, 204);
    const elapsed = await propagation(session, performance.now());
    console.log(`revocation propagation (${t.db.backend}): logout on A -> 401 on B in ${elapsed.toFixed(1)} ms`);
    assert.ok(elapsed < PROPAGATION_LIMIT_MS);
  });

  test('suspending a tenant on node A ends its sessions on node B within a second, other tenants unaffected', async () => {
    const acme = await t.login('owner@acme.demo.test', 'acme');
    const globex = await t.login('owner@globex.demo.test', 'globex');
    assert.equal((await meOnB(acme)).statusCode, 200);
    assert.equal((await meOnB(globex)).statusCode, 200);

    const suspend = await t.app.inject({ method: 'POST', url: `/v1/platform/tenants/${t.tenants.acme!.id}/suspend`, headers: operator.headers });
    assert.equal(suspend.statusCode, 200, suspend.body);
    const elapsed = await propagation(acme, performance.now());
    console.log(`revocation propagation (${t.db.backend}): tenant suspension on A -> 401 on B in ${elapsed.toFixed(1)} ms`);
    assert.ok(elapsed < PROPAGATION_LIMIT_MS);
    assert.equal((await meOnB(globex)).statusCode, 200, 'globex sessions stand on node B');

    const reactivate = await t.app.inject({ method: 'POST', url: `/v1/platform/tenants/${t.tenants.acme!.id}/reactivate`, headers: operator.headers });
    assert.equal(reactivate.statusCode, 200, reactivate.body);
  });

  test('a role taken away on node A no longer grants on node B within a second (FR-RBAC-004)', async () => {
    const globex = t.tenants.globex!.id;
    const owner = await t.login('owner@globex.demo.test', 'globex');
    const member = await t.login('member@globex.demo.test', 'globex');
    const customersOnB = () => nodeB.app!.inject({ method: 'GET', url: `/v1/tenants/${globex}/customers`, headers: member.headers });
    assert.equal((await customersOnB()).statusCode, 200, 'node B now caches the member with its grants');

    const memberId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'member@globex.demo.test').executeTakeFirstOrThrow()).id;
    const list = await t.app.inject({ method: 'GET', url: `/v1/tenants/${globex}/role-assignments?user_id=${memberId}`, headers: owner.headers });
    const [assignment] = (list.json() as { items: { id: string }[] }).items;
    const started = performance.now();
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/tenants/${globex}/role-assignments/${assignment!.id}`, headers: owner.headers });
    assert.equal(removed.statusCode, 204, removed.body);
    for (;;) {
      const response = await customersOnB();
      const elapsed = performance.now() - started;
      if (response.statusCode === 403) {
        console.log(`grant propagation (${t.db.backend}): role removal on A -> 403 on B in ${elapsed.toFixed(1)} ms`);
        break;
      }
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(elapsed < PROPAGATION_LIMIT_MS, `node B still granted the removed role after ${elapsed.toFixed(0)} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });

  test('a revocation made on node B reaches node A too', async () => {
    // The channel is symmetric: no node is special.
    const session = await t.login('member@globex.demo.test', 'globex');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers })).statusCode, 200);
    assert.equal((await nodeB.app!.inject({ method: 'POST', url: '/v1/auth/logout', headers: session.headers })).statusCode, 204);
    const started = performance.now();
    for (;;) {
      const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers });
      if (response.statusCode === 401) break;
      assert.ok(performance.now() - started < PROPAGATION_LIMIT_MS, 'node A still accepted the session');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });
});
