import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RequestContext } from '../../kernel/context.ts';
import { createLogger } from '../../kernel/log.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { purgeExpiredBillingEvents } from './billing.service.ts';

interface IngestAnswer {
  accepted: number;
  duplicates: number;
  rejected: number;
  items: { index: number; status: string; errors?: { path: string; message: string }[] }[];
}

describe('billing events: ingest, export, retention (FR-BILL-001..003)', () => {
  let t: TestPlatform;
  let operator: Session;
  let acme: string;
  let globex: string;
  let appId: string;
  /** billing:write for every tenant; billing:write for acme only. */
  let allTenantsKey: string;
  let acmeOnlyKey: string;

  const event = (overrides: Record<string, unknown> = {}) => ({
    idempotency_id: randomUUID(),
    tenant_id: acme,
    type: 'api.calls',
    quantity: 1,
    occurred_at: new Date().toISOString(),
    ...overrides,
  });

  async function ingest(events: unknown[], key = allTenantsKey) {
    return t.app.inject({ method: 'POST', url: '/v1/apps/billing-events', headers: { authorization: `Bearer ${key}` }, payload: { events } });
  }

  async function storedCount(): Promise<number> {
    const row = await t.db.owner.selectFrom('billing_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  before(async () => {
    t = await buildTestPlatform();
    operator = await t.login('operator@demo.test');
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    const app = await t.app.inject({ method: 'POST', url: '/v1/platform/apps', headers: operator.headers, payload: { name: 'Metering', environment: 'production', owner: 'metering@example.com' } });
    appId = app.json().id;
    const issue = async (payload: object) =>
      ((await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${appId}/keys`, headers: operator.headers, payload })).json() as { secret: string }).secret;
    allTenantsKey = await issue({ scopes: ['billing:write'] });
    acmeOnlyKey = await issue({ scopes: ['billing:write'], tenant_ids: [acme] });
  });
  after(() => t?.close());

  test('a batch is accepted; sent again, every event is a duplicate (200, not an error) and nothing is stored twice', async () => {
    const events = [event(), event({ tenant_id: globex, type: 'storage.gb_hours', quantity: 2.5 }), event({ quantity: 0 })];
    const first = await ingest(events);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), {
      accepted: 3,
      duplicates: 0,
      rejected: 0,
      items: [0, 1, 2].map((index) => ({ index, status: 'accepted' })),
    });
    const countAfterFirst = await storedCount();
    const again = await ingest(events);
    assert.equal(again.statusCode, 200, again.body);
    const body = again.json() as IngestAnswer;
    assert.deepEqual([body.accepted, body.duplicates, body.rejected], [0, 3, 0]);
    assert.ok(body.items.every((item) => item.status === 'duplicate'));
    assert.equal(await storedCount(), countAfterFirst);

    // The same idempotency id from the same application for another tenant is another event.
    const otherTenant = await ingest([{ ...events[0], tenant_id: globex }]);
    assert.equal(otherTenant.json().accepted, 1);
  });

  test('invalid items are rejected one by one with their errors; the valid ones are kept (207)', async () => {
    const old = new Date();
    old.setUTCFullYear(old.getUTCFullYear() - 6);
    const valid = event();
    const batch: unknown[] = [
      valid,
      { ...event(), quantity: undefined },
      event({ quantity: -1 }),
      event({ tenant_id: 'not-a-uuid' }),
      event({ occurred_at: 'yesterday' }),
      event({ colour: 'red' }),
      'not an object',
      event({ tenant_id: randomUUID() }),
      event({ occurred_at: old.toISOString() }),
      event({ occurred_at: new Date(Date.now() + 3 * 86_400_000).toISOString() }),
      event({ type: '=cmd|calc' }),
      { ...valid, quantity: 5 },
      event({ idempotency_id: '' }),
    ];
    const before = await storedCount();
    const response = await ingest(batch);
    assert.equal(response.statusCode, 207, response.body);
    const body = response.json() as IngestAnswer;
    assert.deepEqual(
      body.items.map((item) => item.status),
      ['accepted', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'duplicate', 'rejected'],
    );
    assert.deepEqual([body.accepted, body.duplicates, body.rejected], [1, 1, 11]);
    const pathsOf = (index: number) => body.items[index]!.errors!.map((error) => error.path);
    assert.ok(pathsOf(1).some((p) => p === '/' || p === '/quantity'), JSON.stringify(body.items[1]));
    assert.deepEqual(pathsOf(2), ['/quantity']);
    assert.deepEqual(pathsOf(3), ['/tenant_id']);
    assert.deepEqual(pathsOf(4), ['/occurred_at']);
    assert.deepEqual(body.items[7]!.errors, [{ path: '/tenant_id', message: 'names no tenant' }]);
    assert.match(body.items[8]!.errors![0]!.message, /retention/);
    assert.match(body.items[9]!.errors![0]!.message, /future/);
    assert.equal(await storedCount(), before + 1);
  });

  test('a key limited to acme cannot report for globex; each event is stored in its own tenant, under RLS', async () => {
    const forAcme = event({ type: 'seats' });
    const forGlobex = event({ tenant_id: globex, type: 'seats' });
    const response = await ingest([forAcme, forGlobex], acmeOnlyKey);
    assert.equal(response.statusCode, 207, response.body);
    const body = response.json() as IngestAnswer;
    assert.equal(body.items[0]!.status, 'accepted');
    assert.deepEqual(body.items[1], { index: 1, status: 'rejected', errors: [{ path: '/tenant_id', message: 'is not a tenant this key may act for' }] });

    const seenByAcme = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('billing_events').select(['idempotency_id', 'tenant_id']).execute());
    assert.ok(seenByAcme.some((row) => row.idempotency_id === forAcme.idempotency_id));
    assert.ok(seenByAcme.every((row) => row.tenant_id === acme));
    const inGlobex = await t.db.owner.selectFrom('billing_events').select('id').where('idempotency_id', '=', forGlobex.idempotency_id).execute();
    assert.equal(inGlobex.length, 0);
  });

  test('a batch over 1,000 events is refused as a whole and stores nothing', async () => {
    const before = await storedCount();
    const response = await ingest(Array.from({ length: 1001 }, () => event()));
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(response.json().type, '/problems/validation');
    assert.equal(await storedCount(), before);
    const full = await ingest(Array.from({ length: 1000 }, () => event({ type: 'bulk' })));
    assert.equal(full.statusCode, 200);
    assert.equal(full.json().accepted, 1000);
  });

  test('one audit event per tenant per batch, with the counts, by the application key', async () => {
    const repeated = event();
    await ingest([repeated]);
    const response = await ingest([repeated, event(), event({ tenant_id: globex })]);
    assert.equal(response.statusCode, 200, response.body);
    const correlationId = String(response.headers['x-request-id']);
    const audit = await t.db.owner
      .selectFrom('audit_events')
      .select(['tenant_id', 'actor_type', 'action', 'resource_id', 'metadata'])
      .where('correlation_id', '=', correlationId)
      .orderBy('tenant_id')
      .execute();
    const expected = [
      { tenant_id: acme, accepted: 1, duplicates: 1 },
      { tenant_id: globex, accepted: 1, duplicates: 0 },
    ].sort((a, b) => a.tenant_id.localeCompare(b.tenant_id));
    assert.deepEqual(
      audit.map((row) => ({ tenant_id: row.tenant_id, accepted: row.metadata.accepted, duplicates: row.metadata.duplicates })),
      expected,
    );
    for (const row of audit) {
      assert.equal(row.action, 'billing.events_ingested');
      assert.equal(row.actor_type, 'api_key');
      assert.equal(row.resource_id, appId);
    }
  });

  test('export: JSON pages walk the period once with totals per type; CSV has the same rows, formula cells neutralised; both audited', async () => {
    // An application of its own, so that the period (filtered by application) holds exactly these events.
    const probe = await t.app.inject({ method: 'POST', url: '/v1/platform/apps', headers: operator.headers, payload: { name: 'Export probe', environment: 'staging', owner: 'probe@example.com' } });
    const probeId = probe.json().id as string;
    const probeKey = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${probeId}/keys`, headers: operator.headers, payload: { scopes: ['billing:write'] } });
    const tenantId = acme;
    const at = (iso: string) => new Date(iso).toISOString();
    const now = Date.now();
    const inPeriod = (minutes: number) => at(new Date(now - minutes * 60_000).toISOString());
    const events = [
      event({ tenant_id: tenantId, type: 'api.calls', quantity: 10, occurred_at: inPeriod(50) }),
      event({ tenant_id: tenantId, type: 'api.calls', quantity: 0.25, occurred_at: inPeriod(40) }),
      event({ tenant_id: tenantId, type: 'storage.gb_hours', quantity: 1.5, occurred_at: inPeriod(30), idempotency_id: '=HYPERLINK("http://evil")' }),
      event({ tenant_id: tenantId, type: 'api.calls', quantity: 3, occurred_at: inPeriod(20) }),
      event({ tenant_id: tenantId, type: 'seats', quantity: 7, occurred_at: inPeriod(10) }),
      // Outside the period: two hours ago.
      event({ tenant_id: tenantId, type: 'api.calls', quantity: 1000, occurred_at: inPeriod(120) }),
    ];
    assert.equal((await ingest(events, probeKey.json().secret)).json().accepted, 6);
    const from = new Date(now - 60 * 60_000).toISOString();
    const to = new Date(now).toISOString();
    const query = `tenant=${tenantId}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&app=${probeId}`;

    const seen: string[] = [];
    let cursor: string | null = null;
    let totals: unknown;
    do {
      const url: string = `/v1/platform/billing/events?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.app.inject({ method: 'GET', url, headers: operator.headers });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json() as { items: { idempotency_id: string; quantity: string }[]; next_cursor: string | null; totals: unknown };
      assert.ok(body.items.length <= 2);
      seen.push(...body.items.map((item) => item.idempotency_id));
      totals = body.totals;
      cursor = body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, events.slice(0, 5).map((e) => e.idempotency_id), 'every event of the period once, in occurred_at order');
    assert.deepEqual(totals, [
      { type: 'api.calls', events: 3, quantity: '13.250000' },
      { type: 'seats', events: 1, quantity: '7.000000' },
      { type: 'storage.gb_hours', events: 1, quantity: '1.500000' },
    ]);

    const csv = await t.app.inject({ method: 'GET', url: `/v1/platform/billing/events.csv?${query}`, headers: operator.headers });
    assert.equal(csv.statusCode, 200, csv.body);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="billing-events-.+\.csv"/);
    const lines = csv.body.trimEnd().split('\r\n');
    assert.equal(lines[0], 'event_id,tenant_id,app_id,idempotency_id,type,quantity,occurred_at,received_at');
    assert.equal(lines.length, 6);
    assert.ok(lines[3]!.includes(`,"'=HYPERLINK(""http://evil"")",storage.gb_hours,1.500000,`), lines[3]);
    assert.ok(lines.slice(1).every((line) => line.split(',')[1] === tenantId));

    const exported = await t.db.owner
      .selectFrom('audit_events')
      .select(['actor_type', 'metadata'])
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'billing.exported')
      .where(sql<string>`metadata->>'app_id'`, '=', probeId)
      .orderBy('seq')
      .execute();
    assert.deepEqual(exported.map((row) => [row.actor_type, row.metadata.format]), [
      ['operator', 'json'],
      ['operator', 'json'],
      ['operator', 'json'],
      ['operator', 'csv'],
    ]);
  });

  test('export refuses what it cannot answer: unknown tenant 404, empty period or bad cursor 400, tenant users 403', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date().toISOString();
    const get = (query: string, headers = operator.headers) => t.app.inject({ method: 'GET', url: `/v1/platform/billing/events?${query}`, headers });
    assert.equal((await get(`tenant=${randomUUID()}&from=${from}&to=${to}`)).statusCode, 404);
    assert.equal((await get(`tenant=${acme}&from=${to}&to=${from}`)).statusCode, 400);
    assert.equal((await get(`tenant=${acme}&from=${from}&to=${to}&cursor=garbage`)).statusCode, 400);
    assert.equal((await get(`tenant=${acme}&from=${from}`)).statusCode, 400);
    const owner = await t.login('owner@acme.demo.test', 'acme');
    assert.equal((await get(`tenant=${acme}&from=${from}&to=${to}`, owner.headers)).statusCode, 403);
    const csv = await t.app.inject({ method: 'GET', url: `/v1/platform/billing/events.csv?tenant=${randomUUID()}&from=${from}&to=${to}`, headers: operator.headers });
    assert.equal(csv.statusCode, 404);
    assert.match(String(csv.headers['content-type']), /^application\/problem\+json/);
  });

  test('retention: the daily job deletes events older than 5 years and nothing younger; the app role cannot delete young ones', async () => {
    // Ingest refuses such old events, so the owner plants them.
    const old = new Date();
    old.setUTCFullYear(old.getUTCFullYear() - 5);
    old.setUTCDate(old.getUTCDate() - 2);
    const planted = await sql<{ id: string }>`
      insert into billing_events (tenant_id, app_id, idempotency_id, type, quantity, occurred_at)
      values (${acme}, ${appId}, 'old-acme', 'api.calls', 1, ${old.toISOString()}), (${globex}, ${appId}, 'old-globex', 'api.calls', 1, ${old.toISOString()})
      returning id`.execute(t.db.owner);
    assert.equal(planted.rows.length, 2);
    const young = event({ idempotency_id: 'young-acme' });
    await ingest([young]);

    const deletedYoung = await t.db.withWholeTenant(acme, (tx) => tx.deleteFrom('billing_events').where('idempotency_id', '=', 'young-acme').executeTakeFirst());
    assert.equal(Number(deletedYoung.numDeletedRows), 0, 'the restrictive policy protects events inside the retention period');

    const before = await storedCount();
    const ctx: RequestContext = { correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: createLogger('silent') };
    assert.equal(await purgeExpiredBillingEvents(t.db, ctx), 2);
    assert.equal(await storedCount(), before - 2);
    const left = await t.db.owner.selectFrom('billing_events').select('idempotency_id').where('idempotency_id', 'in', ['old-acme', 'old-globex', 'young-acme']).execute();
    assert.deepEqual(left.map((row) => row.idempotency_id), ['young-acme']);

    // The worker registered the daily schedule.
    const schedule = await sql<{ cron: string }>`select cron from pgboss.schedule where name = 'billing-retention'`.execute(t.db.owner);
    assert.deepEqual(schedule.rows, [{ cron: '43 2 * * *' }]);
  });
});
