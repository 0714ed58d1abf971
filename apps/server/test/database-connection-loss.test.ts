import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from './helpers.ts';

/**
 * NFR-OPS-001, CON-ARCH-005, FR-AUTH-005: PostgreSQL ending the platform's connections (an
 * operator's pg_terminate_backend, a failover) costs the requests in flight a 503 problem with
 * Retry-After, never the process; the pools replace the lost connections, the job queue carries
 * on, and the LISTEN connections come back and forget what they may have missed meanwhile.
 */
const skip = process.env.DATABASE_URL ? false : 'PostgreSQL only (DATABASE_URL unset): the embedded database has no connections to lose';

/** Every answer to a request that lost its connection: created, or a 503 problem saying when to retry. */
function assertCreatedOrUnavailable(response: LightMyRequestResponse): 'created' | 'unavailable' {
  if (response.statusCode === 201) return 'created';
  assert.equal(response.statusCode, 503, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(response.json().type, '/problems/database-unavailable');
  assert.ok(Number(response.headers['retry-after']) >= 1, `Retry-After: ${response.headers['retry-after']}`);
  return 'unavailable';
}

describe('connections ended by PostgreSQL', { skip }, () => {
  let t: TestPlatform;
  /** The test's own connection to the test database, never among those it terminates. */
  let admin: pg.Client;
  let owner: Session;
  let customers: string;
  const uncaught: unknown[] = [];
  const recordUncaught = (error: unknown) => void uncaught.push(error);

  /** Terminates the platform's backends on the test database that match `condition`; returns how many. */
  async function terminate(condition: string): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend' and (${condition})`,
    );
    return rows[0]!.n;
  }

  const listening = async (channel: string) =>
    (await admin.query(`select 1 from pg_stat_activity where datname = current_database() and query = $1`, [`listen ${channel}`])).rowCount === 1;

  const createCustomer = (name: string) => t.app.inject({ method: 'POST', url: customers, headers: owner.headers, payload: { name } });

  /** Ends a session the way another node would: revoked in the database, announced by NOTIFY. */
  async function revokeElsewhere(sessionId: string) {
    await admin.query(`update sessions set status = 'revoked', revoked_at = now(), revoked_reason = 'logout' where id = $1`, [sessionId]);
    await admin.query(`select pg_notify('tsv_sessions', 'session:' || $1)`, [sessionId]);
  }

  before(async () => {
    process.on('uncaughtException', recordUncaught);
    process.on('unhandledRejection', recordUncaught);
    // Room for every concurrent request of one tenant in the pool at once; cached flags kept long
    // enough that only a notification (or a reconnect) can refresh them during the test.
    t = await buildTestPlatform({ TENANT_CONCURRENCY: '16', FLAG_CACHE_TTL_MS: '60000' });
    admin = new pg.Client({ connectionString: t.databaseUrl });
    await admin.connect();
    owner = await t.login('owner@acme.demo.test', 'acme');
    customers = `/v1/tenants/${t.tenants.acme!.id}/customers`;
  });
  after(async () => {
    await admin?.end();
    await t?.close();
    process.off('uncaughtException', recordUncaught);
    process.off('unhandledRejection', recordUncaught);
  });

  test('a transaction whose connection is terminated answers 503 database-unavailable with Retry-After, and keeps nothing', async () => {
    assert.equal(assertCreatedOrUnavailable(await createCustomer('Before')), 'created');
    // Hold the tenant's audit chain head: every creation then waits inside its transaction, after its insert.
    const holder = new pg.Client({ connectionString: t.databaseUrl });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1 from audit_chain_heads where chain_id = $1 for update', [t.tenants.acme!.id]);
    const answers = Promise.all(Array.from({ length: 8 }, (_, i) => createCustomer(`Interrupted ${i}`)));
    const waiting = "wait_event_type = 'Lock'";
    await eventually(async () => (await admin.query(`select 1 from pg_stat_activity where datname = current_database() and ${waiting}`)).rowCount === 8);
    assert.equal(await terminate(waiting), 8);
    await holder.query('rollback');
    await holder.end();

    const responses = await answers;
    assert.deepEqual(responses.map(assertCreatedOrUnavailable), Array(8).fill('unavailable'));
    const kept = await admin.query(`select 1 from customers where name like 'Interrupted %'`);
    assert.equal(kept.rowCount, 0, 'the interrupted transactions were rolled back');
    assert.equal(assertCreatedOrUnavailable(await createCustomer('After')), 'created');
    assert.deepEqual(uncaught, []);
  });

  test('terminating the backends under load: every request answered with 201 or a 503 problem, then service as before', async () => {
    let terminated = 0;
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      let settled = false;
      const answers = Promise.all(Array.from({ length: 12 }, (_, i) => createCustomer(`Load ${round}.${i}`))).finally(() => (settled = true));
      // The reproduction: the backends of requests in flight. Once, every backend: the idle
      // pool connections, the job queue's and the LISTEN connections too.
      const condition = round === 2 ? 'true' : "state in ('active', 'idle in transaction')";
      let hit = 0;
      while (!settled && hit === 0) hit = await terminate(condition);
      terminated += hit;
      outcomes.push(...(await answers).map(assertCreatedOrUnavailable));
    }
    assert.ok(terminated > 0);
    console.log(`connections terminated under load: ${terminated}; answers: ${outcomes.filter((o) => o === 'created').length} created, ${outcomes.filter((o) => o === 'unavailable').length} unavailable`);

    // Requests, jobs and the listeners work as before.
    const created = await createCustomer('Afterwards');
    assert.equal(created.statusCode, 201, created.body);
    const order = await t.app.inject({ method: 'POST', url: `/v1/tenants/${t.tenants.acme!.id}/orders`, headers: owner.headers, payload: { customer_id: created.json().id, total_cents: 700, currency: 'USD' } });
    assert.equal(order.statusCode, 201, order.body);
    await eventually(async () => (await admin.query('select order_count from customers where id = $1', [created.json().id])).rows[0]?.order_count === 1);

    await eventually(() => listening('tsv_sessions'));
    const member = await t.login('member@acme.demo.test', 'acme');
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: member.headers });
    assert.equal(me.statusCode, 200, me.body);
    const sessionId = me.json().session_id as string;
    // Cached after the listener came back: only its NOTIFY can end the session before the TTL.
    await sleep(300);
    assert.ok(t.running.platform.sessions.get(sessionId), 'the node holds the session in its cache');
    await revokeElsewhere(sessionId);
    await eventually(async () => (await t.app.inject({ method: 'GET', url: '/v1/me', headers: member.headers })).statusCode === 401, 5_000);
    assert.ok(t.config.sessionCacheTtlMs > 5_000, 'the cache TTL alone would be too slow, so the test proves NOTIFY');
    assert.deepEqual(uncaught, []);
  });

  test('FR-AUTH-005, FR-FLAG-003: what changed while the listeners were down is honoured once they are back, not after the cache TTLs', async () => {
    const acme = t.tenants.acme!.id;
    const { sessions } = t.running.platform;
    const { flags } = t.running.services;
    const member = await t.login('member@acme.demo.test', 'acme');
    const me = () => t.app.inject({ method: 'GET', url: '/v1/me', headers: member.headers });
    const first = await me();
    assert.equal(first.statusCode, 200, first.body);
    const sessionId = first.json().session_id as string;
    await admin.query(`insert into feature_flags (key, kind, default_value) values ('gap.check', 'boolean', 'false')`);
    await admin.query(`select pg_notify('tsv_flags', 'reload:*')`);
    await eventually(async () => (await flags.value(acme, 'gap.check')) === false);
    // Warm the pool: while the listeners are kept from reconnecting, requests run on open connections.
    await Promise.all(Array.from({ length: 4 }, () => me()));

    const database = (await admin.query<{ name: string }>('select current_database() as name')).rows[0]!.name;
    // A database refuses new connections only when told from another one.
    const server = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await server.connect();
    await server.query(`alter database ${database} allow_connections false`);
    try {
      assert.equal(await terminate(`query in ('listen tsv_sessions', 'listen tsv_flags')`), 2);
      // The node forgets its sessions as soon as it notices the loss ...
      await eventually(async () => sessions.get(sessionId) === null);
      // ... but requests in the gap cache the session and the flags again, and the NOTIFY of
      // their changes is lost.
      assert.equal((await me()).statusCode, 200);
      assert.ok(sessions.get(sessionId), 'cached during the gap');
      assert.equal(await flags.value(acme, 'gap.check'), false);
      await revokeElsewhere(sessionId);
      await admin.query(`insert into tenant_flag_overrides (tenant_id, flag_key, value) values ($1, 'gap.check', 'true')`, [acme]);
      await admin.query(`select pg_notify('tsv_flags', 'tenant:' || $1)`, [acme]);
      // A few reconnection attempts fail meanwhile; the listeners keep trying.
      await sleep(1_500);
      assert.equal(await listening('tsv_sessions'), false);
    } finally {
      await server.query(`alter database ${database} allow_connections true`);
      await server.end();
    }
    const reopened = Date.now();
    await eventually(async () => (await listening('tsv_sessions')) && (await listening('tsv_flags')), 10_000);
    await eventually(async () => (await me()).statusCode === 401, 10_000);
    await eventually(async () => (await flags.value(acme, 'gap.check')) === true, 10_000);
    const elapsed = Date.now() - reopened;
    assert.ok(elapsed < Math.min(t.config.sessionCacheTtlMs, t.config.flagCacheTtlMs) / 2, `honoured ${elapsed} ms after the database took connections again`);
    assert.deepEqual(uncaught, []);
  });
});
