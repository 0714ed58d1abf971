// The ingest API for managed applications (FR-LOG-001): an application key with the scope
// audit:write appends batches of its events to a tenant's hash chain, idempotently by event id.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';

interface IngestEvent {
  id: string;
  occurred_at: string;
  actor: { type: string; id?: string };
  action: string;
  resource?: { type: string; id: string };
  outcome: string;
  ip?: string;
  user_agent?: string;
  metadata?: Record<string, unknown>;
}

const event = (overrides: Partial<IngestEvent> = {}): IngestEvent => ({
  id: randomUUID(),
  occurred_at: new Date(Date.now() - 60_000).toISOString(),
  actor: { type: 'user', id: 'app-user-42' },
  action: 'app.document.signed',
  resource: { type: 'document', id: 'doc-7' },
  outcome: 'success',
  ip: '203.0.113.9',
  ...overrides,
});

describe('audit ingest for managed applications', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let operator: Session;
  let auditor: Session;
  let appId: string;
  /** audit:write for acme only. */
  let acmeKey: string;
  /** flags:read only. */
  let flagsKey: string;
  /** audit:write for every tenant. */
  let everyTenantKey: string;

  const ingest = (tenantId: string, key: string, events: unknown) =>
    t.app.inject({ method: 'POST', url: `/v1/tenants/${tenantId}/audit-events`, headers: { authorization: `Bearer ${key}` }, payload: { events } as object });

  const countEvents = async (tenantId: string | null) => {
    let query = t.db.owner.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n'));
    query = tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', tenantId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  };

  async function issueKey(body: object): Promise<string> {
    const response = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${appId}/keys`, headers: operator.headers, payload: body });
    assert.equal(response.statusCode, 201, response.body);
    return (response.json() as { secret: string }).secret;
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    operator = await t.login('operator@demo.test');
    await t.addUser('acme', 'auditor@acme.demo.test', 'auditor');
    auditor = await t.login('auditor@acme.demo.test', 'acme');
    const registered = await t.app.inject({
      method: 'POST',
      url: '/v1/platform/apps',
      headers: operator.headers,
      payload: { name: 'Signing service', environment: 'production', owner: 'ops@x.test' },
    });
    assert.equal(registered.statusCode, 201, registered.body);
    appId = (registered.json() as { id: string }).id;
    acmeKey = await issueKey({ scopes: ['audit:write'], tenant_ids: [acme] });
    flagsKey = await issueKey({ scopes: ['flags:read'], tenant_ids: [acme] });
    everyTenantKey = await issueKey({ scopes: ['audit:write'] });
  });
  after(() => t?.close());

  test("a batch is appended to the tenant's chain with what the application observed, and found by search", async () => {
    const batch = [event(), event({ action: 'app.document.viewed', outcome: 'denied', actor: { type: 'anonymous' }, ip: '2001:db8::1' }), event({ metadata: { pages: 3, source: 'forged' } })];
    const response = await ingest(acme, acmeKey, batch);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { appended: 3, duplicates: 0, results: batch.map((e) => ({ id: e.id, status: 'appended' })) });

    const stored = await t.db.owner.selectFrom('audit_events').selectAll().where('id', 'in', batch.map((e) => e.id)).orderBy('seq').execute();
    assert.deepEqual(stored.map((e) => e.id), batch.map((e) => e.id), 'appended in the order sent');
    const [first, second, third] = stored;
    assert.equal(first!.tenant_id, acme);
    assert.equal(first!.chain_id, acme);
    assert.equal(first!.occurred_at.toISOString(), batch[0]!.occurred_at);
    assert.deepEqual([first!.actor_type, first!.actor_id, first!.action, first!.resource_type, first!.resource_id, first!.outcome, first!.ip], [
      'user', 'app-user-42', 'app.document.signed', 'document', 'doc-7', 'success', '203.0.113.9',
    ]);
    assert.deepEqual(first!.metadata, { source: appId });
    assert.deepEqual([second!.actor_type, second!.actor_id, second!.outcome, second!.ip], ['anonymous', null, 'denied', '2001:db8::1']);
    assert.deepEqual(third!.metadata, { pages: 3, source: appId }, 'the source is the calling application, whatever the event says');
    assert.deepEqual(stored.map((e) => e.seq), [first!.seq, first!.seq + 1, first!.seq + 2]);
    assert.deepEqual((await t.verifyAudit()).breaks, []);

    const search = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/audit-events?action=app.document.*&limit=200`, headers: auditor.headers });
    assert.deepEqual(new Set((search.json() as { items: { id: string }[] }).items.map((e) => e.id)), new Set(batch.map((e) => e.id)));
  });

  test('idempotent by event id: a retried batch appends only what is new, repeats in one batch count once', async () => {
    const known = event();
    assert.equal((await ingest(acme, acmeKey, [known])).statusCode, 200);
    const fresh = event();
    const before = await countEvents(acme);
    const retried = await ingest(acme, acmeKey, [known, fresh, { ...fresh }]);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.deepEqual(retried.json(), {
      appended: 1,
      duplicates: 2,
      results: [
        { id: known.id, status: 'duplicate' },
        { id: fresh.id, status: 'appended' },
        { id: fresh.id, status: 'duplicate' },
      ],
    });
    assert.equal(await countEvents(acme), before + 1);
    // The id is the key whatever its case.
    const upper = await ingest(acme, acmeKey, [{ ...known, id: known.id.toUpperCase() }]);
    assert.deepEqual((upper.json() as { duplicates: number }).duplicates, 1);
  });

  test('a key for every tenant writes to any of them', async () => {
    const sent = event();
    const response = await ingest(globex, everyTenantKey, [sent]);
    assert.equal(response.statusCode, 200, response.body);
    const stored = await t.db.owner.selectFrom('audit_events').select(['tenant_id', 'chain_id']).where('id', '=', sent.id).executeTakeFirstOrThrow();
    assert.deepEqual(stored, { tenant_id: globex, chain_id: globex });
  });

  test("a tenant outside the key's tenants is refused (403 tenant-mismatch), recorded as a security event, nothing appended", async () => {
    const before = await countEvents(globex);
    const securityBefore = await t.db.owner.selectFrom('audit_events').select('id').where('action', '=', 'security.cross_tenant_attempt').where('tenant_id', 'is', null).execute();
    const response = await ingest(globex, acmeKey, [event()]);
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().type, '/problems/tenant-mismatch');
    assert.equal(await countEvents(globex), before);
    const security = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'security.cross_tenant_attempt').where('tenant_id', 'is', null).execute();
    assert.equal(security.length, securityBefore.length + 1);
    const recorded = security.find((e) => !securityBefore.some((b) => b.id === e.id))!;
    assert.equal(recorded.category, 'security');
    assert.equal(recorded.severity, 'high');
    assert.equal(recorded.actor_type, 'api_key');
    assert.equal((recorded.metadata as { path_tenant: string; app_id: string }).path_tenant, globex);
    assert.equal((recorded.metadata as { app_id: string }).app_id, appId);
  });

  test('no key, a bad key, a user token or a key without audit:write is refused; an unknown tenant is 404', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const before = await countEvents(acme);
    const anonymous = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/audit-events`, payload: { events: [event()] } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal((await ingest(acme, `${acmeKey.slice(0, -4)}AAAA`, [event()])).statusCode, 401);
    assert.equal((await ingest(acme, owner.accessToken, [event()])).statusCode, 401);
    const scope = await ingest(acme, flagsKey, [event()]);
    assert.equal(scope.statusCode, 403);
    assert.equal(scope.json().type, '/problems/forbidden');
    assert.equal(await countEvents(acme), before);
    assert.equal((await ingest(randomUUID(), everyTenantKey, [event()])).statusCode, 404);
    assert.equal((await ingest('not-a-tenant', everyTenantKey, [event()])).statusCode, 404);
  });

  test("attack: an id another tenant's log holds is new here, so the answer tells nothing (existence oracle); a suspended tenant takes nothing (403)", async () => {
    const appEvents = async () =>
      (await t.db.owner.selectFrom('audit_events').select('id').where('tenant_id', '=', globex).where('action', 'like', 'app.%').execute()).length;
    const taken = event();
    assert.equal((await ingest(acme, acmeKey, [taken])).statusCode, 200);
    const fresh = event();
    const answer = await ingest(globex, everyTenantKey, [fresh, { ...taken }]);
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json(), { appended: 2, duplicates: 0, results: [fresh, taken].map((e) => ({ id: e.id, status: 'appended' })) }, 'as for two ids nobody holds');
    const holders = await t.db.owner.selectFrom('audit_events').select('tenant_id').where('id', '=', taken.id).orderBy('tenant_id').execute();
    assert.deepEqual(holders.map((row) => row.tenant_id).sort(), [acme, globex].sort(), 'each log holds its own event under the id');
    const ingestedBefore = await appEvents();

    const suspend = await t.app.inject({ method: 'POST', url: `/v1/platform/tenants/${globex}/suspend`, headers: operator.headers });
    assert.equal(suspend.statusCode, 200, suspend.body);
    try {
      const refused = await ingest(globex, everyTenantKey, [event()]);
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().type, '/problems/tenant-suspended');
    } finally {
      await t.app.inject({ method: 'POST', url: `/v1/platform/tenants/${globex}/reactivate`, headers: operator.headers });
    }
    assert.equal(await appEvents(), ingestedBefore, 'nothing was ingested while suspended');
  });

  test('bad events are 400 problems and the whole batch is refused', async () => {
    const before = await countEvents(acme);
    const invalid: [string, unknown][] = [
      ['no events', []],
      ['not a list', 'events'],
      ['action outside app.', [event({ action: 'auth.login' })]],
      ['action with capitals', [event({ action: 'app.Document' })]],
      ['id not a uuid', [event({ id: 'evt-1' })]],
      ['no occurred_at', [{ ...event(), occurred_at: undefined }]],
      ['occurred_at not a date', [event({ occurred_at: 'yesterday' })]],
      ['occurred_at in the future', [event(), event({ occurred_at: new Date(Date.now() + 3_600_000).toISOString() })]],
      ['actor type operator', [event({ actor: { type: 'operator', id: 'x' } })]],
      ['outcome unknown', [event({ outcome: 'maybe' })]],
      ['ip not an address', [event({ ip: 'localhost' })]],
      ['unknown field', [{ ...event(), tenant_id: globex }]],
      ['metadata too large', [event({ metadata: { blob: 'x'.repeat(9000) } })]],
      ['too many events', Array.from({ length: 501 }, () => event())],
    ];
    for (const [what, events] of invalid) {
      const response = await ingest(acme, acmeKey, events);
      assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
      assert.equal(response.json().type, '/problems/validation', what);
    }
    assert.equal(await countEvents(acme), before);
  });

  test('a batch of 500 is appended in one transaction, and the chain stays valid', async () => {
    const batch = Array.from({ length: 500 }, (_, i) => event({ metadata: { i } }));
    const response = await ingest(acme, acmeKey, batch);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal((response.json() as { appended: number }).appended, 500);
    const report = await t.verifyAudit();
    assert.deepEqual(report.breaks, []);
  });
});
