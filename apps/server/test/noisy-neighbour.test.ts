import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/kernel/config.ts';
import { scopeOf } from '../src/kernel/context.ts';
import type { Database } from '../src/kernel/db/database.ts';
import { createHttpServer, type App } from '../src/kernel/http/server.ts';
import { createLogger } from '../src/kernel/log.ts';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

/**
 * FR-TEN-008: one tenant flooding the API cannot take the database from the others. Each tenant
 * may have TENANT_CONCURRENCY requests in flight on a node; past that its requests wait in a short
 * queue or are refused (429 tenant-busy), while another tenant's requests go straight through.
 *
 * The route under load holds its tenant transaction (and so a database connection: the only one
 * on the embedded database, one of the pool's on PostgreSQL) for HOLD_MS, like a heavy report.
 * Without the bound tenant A's flood would hold every connection and B would queue behind all of
 * it. A correctness test of the bound, not a timing benchmark: tenant B must be served in full
 * while tenant A still has work queued, and A never holds more than its share.
 */
const BOUND = 2;
const QUEUE = 20;
const FLOOD = 60;
const HOLD_MS = 40;

describe('noisy neighbour: the per-tenant concurrency bound', () => {
  let t: TestPlatform;
  let app: App;
  let acmeOwner: Session;
  let globexOwner: Session;
  /** Tenant transactions open (or waiting for a connection) right now, and the most at once, per tenant. */
  const open = new Map<string, number>();
  const peak = new Map<string, number>();

  /** Counts the tenant transactions that go through this database object. */
  function instrument(db: Database) {
    const withTenant = db.withTenant.bind(db);
    (db as { withTenant: Database['withTenant'] }).withTenant = async (ctx, fn) => {
      const { tenantId } = scopeOf(ctx);
      open.set(tenantId, (open.get(tenantId) ?? 0) + 1);
      peak.set(tenantId, Math.max(peak.get(tenantId) ?? 0, open.get(tenantId)!));
      try {
        return await withTenant(ctx, fn);
      } finally {
        open.set(tenantId, open.get(tenantId)! - 1);
      }
    };
  }

  const report = (session: Session, tenantId: string) => app.inject({ method: 'GET', url: `/v1/tenants/${tenantId}/report`, headers: session.headers });

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
    // A kernel on the platform's database, tokens and session cache, with the heavy route.
    const config = loadConfig({
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: t.config.dataDir,
      PUBLIC_URL: t.config.publicUrl,
      TENANT_CONCURRENCY: String(BOUND),
      TENANT_QUEUE_LENGTH: String(QUEUE),
      TENANT_QUEUE_TIMEOUT_MS: '20000',
      REQUEST_TIMEOUT_MS: '30000',
    });
    const platform = t.running.platform;
    ({ app } = await createHttpServer(config, createLogger('silent'), { db: t.db, tokens: platform.tokens, sessions: platform.sessions }));
    app.get('/v1/tenants/:tenantId/report', { config: { access: 'customers.read', requirements: ['FR-TEN-008'] } }, async (request) =>
      t.db.withTenant(request.ctx, async (tx) => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from customers`.execute(tx);
        await sleep(HOLD_MS);
        return { customers: rows[0]!.n };
      }),
    );
    await app.ready();
    // Sessions checked once now, so that the counts below are the handlers' own transactions.
    assert.equal((await report(acmeOwner, t.tenants.acme!.id)).statusCode, 200);
    assert.equal((await report(globexOwner, t.tenants.globex!.id)).statusCode, 200);
    instrument(t.db);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('tenant A floods; tenant B is served in full while A is held to its bound, queued and refused', async () => {
    const acme = t.tenants.acme!.id;
    const globex = t.tenants.globex!.id;
    let pendingA = FLOOD;
    let refusedA = 0;
    const flood = Array.from({ length: FLOOD }, () =>
      report(acmeOwner, acme)
        .then((response) => {
          if (response.statusCode === 429) refusedA++;
          return response;
        })
        .finally(() => pendingA--),
    );
    // A is saturated once it is refused: its bound is taken and its queue is full.
    const deadline = Date.now() + 10_000;
    while (refusedA === 0) {
      assert.ok(Date.now() < deadline, 'tenant A was never refused');
      await sleep(1);
    }

    const started = performance.now();
    const served = await Promise.all(Array.from({ length: 5 }, () => report(globexOwner, globex)));
    const tenantBMs = performance.now() - started;
    const stillPendingA = pendingA;
    for (const response of served) assert.equal(response.statusCode, 200, response.body);
    assert.ok(stillPendingA > 0, 'tenant B was served only after every request of tenant A: it waited behind A');

    const answers = await Promise.all(flood);
    const ok = answers.filter((response) => response.statusCode === 200);
    const busy = answers.filter((response) => response.statusCode === 429);
    assert.equal(ok.length + busy.length, FLOOD, answers.map((response) => response.statusCode).join());
    assert.ok(ok.length >= BOUND + QUEUE, `A's bound and queue were served in turn: ${ok.length}`);
    assert.ok(busy.length > 0, 'past its bound and its queue A is refused');
    for (const response of busy) {
      assert.equal(response.json().type, '/problems/tenant-busy');
      assert.equal(response.headers['retry-after'], '1');
    }
    assert.equal(peak.get(acme), BOUND, `tenant A had ${peak.get(acme)} transactions at once; the bound is ${BOUND}`);
    console.log(
      `noisy neighbour (${t.db.backend}): B's 5 requests took ${tenantBMs.toFixed(0)} ms while A still had ${stillPendingA} of ${FLOOD} requests open; ` +
        `A: ${ok.length} served, ${busy.length} refused, at most ${peak.get(acme)} transactions at once`,
    );

    // Once the flood is over, A is served normally again.
    assert.equal((await report(acmeOwner, acme)).statusCode, 200);
  });
});
