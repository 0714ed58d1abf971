import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/kernel/log.ts';
import { startPlatform, type Running } from '../src/start.ts';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

/**
 * FR-TENANT-002/004/006: changing a user's role, disabling or deleting the user ends the user's
 * sessions at once on every API node, although each node caches live sessions for
 * SESSION_CACHE_TTL_MS (30 s by default): the change announces itself by NOTIFY on commit.
 */
const PROPAGATION_LIMIT_MS = 1_000;

describe("a user's sessions end on a second node when the user changes (two API nodes, one database)", () => {
  let t: TestPlatform;
  let nodeB: Running;
  let owner: Session;
  let base: string;
  let auditorRole: string;
  let users = 0;

  const meOnB = (session: Session) => nodeB.app!.inject({ method: 'GET', url: '/v1/me', headers: session.headers });

  /** A Member signed in, whose session node B has seen and cached. */
  async function signedInOnB(): Promise<{ id: string; session: Session }> {
    const email = `two-nodes-${++users}@acme.demo.test`;
    const id = await t.addUser('acme', email, 'member');
    const session = await t.login(email, 'acme');
    const response = await meOnB(session);
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(nodeB.platform.sessions.get(response.json().session_id), 'node B holds the session in its cache');
    return { id, session };
  }

  /** Makes the change on node A, then polls node B until the session gets 401; returns the delay. */
  async function propagation(session: Session, change: () => Promise<{ statusCode: number; body: string }>, expected: number): Promise<number> {
    const started = performance.now();
    const response = await change();
    assert.equal(response.statusCode, expected, response.body);
    for (;;) {
      const onB = await meOnB(session);
      const elapsed = performance.now() - started;
      if (onB.statusCode === 401) return elapsed;
      assert.equal(onB.statusCode, 200, onB.body);
      assert.ok(elapsed < PROPAGATION_LIMIT_MS, `node B still accepted the session after ${elapsed.toFixed(0)} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    // The same configuration (signing key in DATA_DIR) and database; its own session cache and,
    // on PostgreSQL, its own LISTEN connection.
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    owner = await t.login('owner@acme.demo.test', 'acme');
    base = `/v1/tenants/${t.tenants.acme!.id}`;
    const roles = (await t.app.inject({ method: 'GET', url: `${base}/roles`, headers: owner.headers })).json().items as { id: string; key: string }[];
    auditorRole = roles.find((role) => role.key === 'auditor')!.id;
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
  });

  test('the nodes are separate, and the cache TTL alone would be too slow', () => {
    assert.notEqual(nodeB.app, t.app);
    assert.notEqual(nodeB.platform.sessions, t.running.platform.sessions);
    assert.ok(t.config.sessionCacheTtlMs > PROPAGATION_LIMIT_MS);
  });

  for (const [label, change, expected] of [
    ['role change', (id: string) => t.app.inject({ method: 'PUT', url: `${base}/users/${id}/role`, headers: owner.headers, payload: { role_id: auditorRole } }), 200],
    ['disable', (id: string) => t.app.inject({ method: 'POST', url: `${base}/users/${id}/disable`, headers: owner.headers }), 200],
    ['delete', (id: string) => t.app.inject({ method: 'DELETE', url: `${base}/users/${id}`, headers: owner.headers }), 204],
  ] as const) {
    test(`${label} on node A ends the user's sessions on node B within a second`, async () => {
      const user = await signedInOnB();
      const other = await signedInOnB();
      const elapsed = await propagation(user.session, () => change(user.id), expected);
      console.log(`user revocation propagation (${t.db.backend}): ${label} on A -> 401 on B in ${elapsed.toFixed(1)} ms`);
      assert.ok(elapsed < PROPAGATION_LIMIT_MS);
      assert.equal((await meOnB(other.session)).statusCode, 200, "another user's session stands on node B");
    });
  }

  test('a change made on node B ends the session on node A too', async () => {
    const email = `two-nodes-${++users}@acme.demo.test`;
    const id = await t.addUser('acme', email, 'member');
    const session = await t.login(email, 'acme');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers })).statusCode, 200);
    const disabled = await nodeB.app!.inject({ method: 'POST', url: `${base}/users/${id}/disable`, headers: owner.headers });
    assert.equal(disabled.statusCode, 200, disabled.body);
    const started = performance.now();
    for (;;) {
      const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers });
      if (response.statusCode === 401) break;
      assert.ok(performance.now() - started < PROPAGATION_LIMIT_MS, 'node A still accepted the session');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });
});
