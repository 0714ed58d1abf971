// The audit module over HTTP: search with filters and cursor pagination (tenant and platform views),
// CSV export (streamed in pages, formula injection neutralised, audited before it starts) and
// audit-on-read of sensitive routes (FR-AUD-001, FR-AUD-005, FR-AUD-006, FR-LOG-002, CON-ARCH-007).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql, type Selectable } from 'kysely';
import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { AuditChainHeadsTable } from '../../kernel/db/schema.ts';
import { createLogger } from '../../kernel/log.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';

interface Event {
  id: string;
  tenant_id: string | null;
  chain_id: string;
  seq: number;
  occurred_at: string;
  category: string;
  severity: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  user_agent: string | null;
  correlation_id: string | null;
  metadata: Record<string, unknown>;
}

/** RFC 4180 parsing, for reading exports back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  assert.equal(cell + row.join(''), '', 'the CSV ends with CRLF');
  return rows;
}

const newestFirst = (a: Event, b: Event) => b.occurred_at.localeCompare(a.occurred_at) || b.chain_id.localeCompare(a.chain_id) || b.seq - a.seq;

describe('audit search, export and audit-on-read', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let owner: Session;
  let auditor: Session;
  let member: Session;
  let globexOwner: Session;
  let operator: Session;
  let platformAuditor: Session;
  let ownerId: string;
  let customerId: string;

  const get = (url: string, session: Session, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers: { ...session.headers, ...headers } });

  /** Every page of a search, following next_cursor. */
  async function walk(url: string, session: Session): Promise<Event[]> {
    const events: Event[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`${url}${url.includes('?') ? '&' : '?'}${cursor ? `cursor=${cursor}&` : ''}limit=200`, session);
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json() as { items: Event[]; next_cursor: string | null };
      events.push(...body.items);
      cursor = body.next_cursor;
    } while (cursor);
    return events;
  }

  const search = (query: string, session: Session = auditor) => walk(`/v1/tenants/${acme}/audit-events?${query}`, session);

  /** The event rows as the owner connection sees them, newest first. */
  const stored = (where: (q: ReturnType<typeof selectAll>) => ReturnType<typeof selectAll>) =>
    where(selectAll()).orderBy('occurred_at', 'desc').orderBy('chain_id', 'desc').orderBy('seq', 'desc').execute();
  const selectAll = () => t.db.owner.selectFrom('audit_events').select(['id', 'tenant_id', 'action', 'occurred_at', 'seq', 'chain_id']);

  const createCustomer = async (session: Session, tenantId: string, name: string, headers: Record<string, string> = {}) => {
    const response = await t.app.inject({ method: 'POST', url: `/v1/tenants/${tenantId}/customers`, headers: { ...session.headers, ...headers }, payload: { name } });
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as { id: string; version: number };
  };

  /**
   * Takes a chain's head away (an audit write to it then fails), runs fn, puts the head back. The
   * head guard refuses removing a head to every role: the owner switches it off around each step.
   */
  async function withoutChainHead<T>(chainId: string, fn: () => Promise<T>): Promise<T> {
    const unguarded = async (step: () => Promise<unknown>) => {
      await sql`alter table audit_chain_heads disable trigger user`.execute(t.db.owner);
      try {
        await step();
      } finally {
        await sql`alter table audit_chain_heads enable trigger user`.execute(t.db.owner);
      }
    };
    const head: Selectable<AuditChainHeadsTable> = await t.db.owner.selectFrom('audit_chain_heads').selectAll().where('chain_id', '=', chainId).executeTakeFirstOrThrow();
    await unguarded(() => t.db.owner.deleteFrom('audit_chain_heads').where('chain_id', '=', chainId).execute());
    try {
      return await fn();
    } finally {
      await unguarded(() => t.db.owner.insertInto('audit_chain_heads').values(head).execute());
    }
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    await t.addUser('acme', 'auditor@acme.demo.test', 'auditor');
    await t.db.withPlatform(async (tx) => {
      const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
      await tx.insertInto('users').values({ tenant_id: null, email: 'auditor@demo.test', password_hash: hash, platform_role: 'auditor', email_verified_at: new Date() }).execute();
    });
    owner = await t.login('owner@acme.demo.test', 'acme');
    auditor = await t.login('auditor@acme.demo.test', 'acme');
    member = await t.login('member@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
    operator = await t.login('operator@demo.test');
    platformAuditor = await t.login('auditor@demo.test');
    ownerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@acme.demo.test').executeTakeFirstOrThrow()).id;
    customerId = (await createCustomer(owner, acme, 'Audited Customer')).id;
    await t.app.inject({ method: 'PATCH', url: `/v1/tenants/${acme}/customers/${customerId}`, headers: owner.headers, payload: { name: 'Audited Customer II', version: 1 } });
    await createCustomer(globexOwner, globex, 'Globex Customer');
  });
  after(() => t?.close());

  describe('tenant search', () => {
    test("an auditor reads exactly its tenant's events, newest first, and the pages walk each once", async () => {
      const pages: Event[] = [];
      let cursor: string | null = null;
      do {
        const response = await get(`/v1/tenants/${acme}/audit-events?limit=7${cursor ? `&cursor=${cursor}` : ''}`, auditor);
        assert.equal(response.statusCode, 200, response.body);
        const body = response.json() as { items: Event[]; next_cursor: string | null };
        assert.ok(body.items.length <= 7);
        pages.push(...body.items);
        cursor = body.next_cursor;
      } while (cursor);
      const expected = await stored((q) => q.where('tenant_id', '=', acme));
      assert.deepEqual(pages.map((e) => e.id), expected.map((e) => e.id));
      assert.ok(pages.length > 7, 'more than one page');
      assert.ok(pages.every((e) => e.tenant_id === acme && e.chain_id === acme));
      assert.deepEqual([...pages].sort(newestFirst).map((e) => e.id), pages.map((e) => e.id));
    });

    test('filters: correlation id, action exact and by prefix, actor, resource, outcome, category and minimum severity, time range', async () => {
      const correlation = `audit-test-${randomUUID()}`;
      const created = await createCustomer(owner, acme, 'Correlated', { 'x-request-id': correlation });
      const byCorrelation = await search(`correlation_id=${correlation}`);
      assert.deepEqual(byCorrelation.map((e) => [e.action, e.resource_id, e.actor_id]), [['customer.created', created.id, ownerId]]);

      const exact = await search('action=customer.created');
      assert.ok(exact.length >= 2 && exact.every((e) => e.action === 'customer.created'));
      const prefixed = await search('action=customer.*');
      assert.ok(prefixed.some((e) => e.action === 'customer.updated') && prefixed.every((e) => e.action.startsWith('customer.')));
      assert.ok((await search('action=auth.*')).some((e) => e.action === 'auth.login'));
      assert.deepEqual(await search('action=customer'), [], 'an exact action is not a prefix');

      const byActor = await search(`actor_id=${ownerId}&actor_type=user`);
      assert.ok(byActor.length >= 3 && byActor.every((e) => e.actor_id === ownerId && e.actor_type === 'user'));

      const byResource = await search(`resource_type=customer&resource_id=${customerId}`);
      assert.deepEqual(byResource.map((e) => e.action).sort(), ['customer.created', 'customer.updated']);

      // Security events: a cross-tenant attempt (high) and a permission denial (low) in acme's chain.
      assert.equal((await get(`/v1/tenants/${globex}/customers`, owner)).statusCode, 403);
      assert.equal((await get(`/v1/tenants/${acme}/audit-events`, member)).statusCode, 403);
      const security = await search('category=security');
      assert.ok(security.every((e) => e.category === 'security'));
      assert.deepEqual(new Set(security.map((e) => e.action)), new Set(['security.cross_tenant_attempt', 'security.permission_denied']));
      const high = await search('category=security&severity=medium');
      assert.ok(high.length >= 1 && high.every((e) => e.action === 'security.cross_tenant_attempt' && e.severity === 'high'));
      assert.deepEqual(await search('severity=critical'), []);
      const denied = await search('outcome=denied');
      assert.ok(denied.length >= 2 && denied.every((e) => e.outcome === 'denied'));

      const all = await search('');
      const middle = all[Math.floor(all.length / 2)]!;
      const from = await search(`from=${middle.occurred_at}`);
      assert.deepEqual(from.map((e) => e.id), all.filter((e) => e.occurred_at >= middle.occurred_at).map((e) => e.id));
      const to = await search(`to=${middle.occurred_at}`);
      assert.deepEqual(to.map((e) => e.id), all.filter((e) => e.occurred_at < middle.occurred_at).map((e) => e.id));
    });

    test('bad filters are 400 problems', async () => {
      for (const query of [
        'action=AUTH.LOGIN',
        'action=auth.*.*',
        "action=auth'--",
        'severity=extreme',
        'outcome=maybe',
        'category=other',
        'actor_type=robot',
        'from=yesterday',
        'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
        'limit=201',
        'limit=0',
        'cursor=garbage',
        `cursor=${Buffer.from('["2026-01-01T00:00:00Z","x",1]').toString('base64url')}`,
        'unknown=1',
      ]) {
        const response = await get(`/v1/tenants/${acme}/audit-events?${query}`, auditor);
        assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
        assert.equal(response.json().type, '/problems/validation', query);
      }
    });

    test("access: a Member is refused, another tenant's log is refused, a platform route is refused", async () => {
      assert.equal((await get(`/v1/tenants/${acme}/audit-events`, member)).json().type, '/problems/forbidden');
      assert.equal((await get(`/v1/tenants/${acme}/audit-events.csv`, member)).statusCode, 403);
      const foreign = await get(`/v1/tenants/${globex}/audit-events`, auditor);
      assert.equal(foreign.json().type, '/problems/tenant-mismatch');
      assert.equal((await get('/v1/platform/audit-events', owner)).statusCode, 403);
      // The Owner holds every tenant permission, the audit ones included.
      assert.equal((await get(`/v1/tenants/${acme}/audit-events?limit=1`, owner)).statusCode, 200);
    });
  });

  describe('CSV export', () => {
    test('the header, then the rows of the search; formula injection neutralised; the export audited before it starts', async () => {
      const formula = "=cmd|' /C calc'!A0";
      await createCustomer(owner, acme, 'Formula', { 'user-agent': formula });
      const response = await get(`/v1/tenants/${acme}/audit-events.csv?action=customer.created`, auditor);
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /^text\/csv; charset=utf-8/);
      assert.match(String(response.headers['content-disposition']), /^attachment; filename="audit-events-\d{8}T\d{6}Z\.csv"$/);
      const [header, ...rows] = parseCsv(response.body);
      assert.deepEqual(header, [
        'id', 'occurred_at', 'tenant_id', 'chain_id', 'seq', 'category', 'severity', 'actor_type', 'actor_id', 'action',
        'resource_type', 'resource_id', 'outcome', 'ip', 'user_agent', 'correlation_id', 'impersonator_id', 'impersonation_reason', 'metadata', 'prev_hash', 'hash',
      ]);
      const searched = await search('action=customer.created');
      assert.deepEqual(rows.map((r) => r[0]), searched.map((e) => e.id));
      const column = (name: string) => header!.indexOf(name);
      assert.ok(rows.every((r) => r[column('action')] === 'customer.created' && r[column('tenant_id')] === acme));
      assert.ok(rows.some((r) => r[column('user_agent')] === `'${formula}`), 'the formula is prefixed with a single quote');
      assert.ok(!response.body.includes(`,${formula}`));

      const exported = await t.db.owner
        .selectFrom('audit_events')
        .selectAll()
        .where('tenant_id', '=', acme)
        .where('action', '=', 'audit.exported')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      assert.deepEqual(exported.metadata, { format: 'csv', filters: { action: 'customer.created' } });
      assert.equal(exported.actor_id, (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'auditor@acme.demo.test').executeTakeFirstOrThrow()).id);

      // Unfiltered, the export's own event is the newest row: it was written before the rows were read.
      const everything = parseCsv((await get(`/v1/tenants/${acme}/audit-events.csv`, auditor)).body);
      assert.equal(everything[1]![column('action')], 'audit.exported');
      assert.deepEqual(JSON.parse(everything[1]![column('metadata')]!), { format: 'csv', filters: {} });
    });

    test('a log larger than a page (2,500 events) streams whole, each event once, newest first', async () => {
      const ctx: RequestContext = { correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: createLogger('silent') };
      await t.db.withWholeTenant(acme, async (tx) => {
        for (let i = 0; i < 2_500; i++) await recordAudit(tx, ctx, { tenantId: acme, action: 'app.bulk.test', metadata: { i } });
      });
      const response = await get(`/v1/tenants/${acme}/audit-events.csv?action=app.bulk.test`, auditor);
      assert.equal(response.statusCode, 200);
      const rows = parseCsv(response.body).slice(1);
      const expected = await stored((q) => q.where('tenant_id', '=', acme).where('action', '=', 'app.bulk.test'));
      assert.equal(rows.length, 2_500);
      assert.deepEqual(rows.map((r) => r[0]), expected.map((e) => e.id));
    });

    test('an export that cannot be audited does not run: 500 problem, no rows', async () => {
      const before = await t.db.owner.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', acme).executeTakeFirstOrThrow();
      const response = await withoutChainHead(acme, () => get(`/v1/tenants/${acme}/audit-events.csv`, auditor));
      assert.equal(response.statusCode, 500);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.ok(!response.body.includes('customer.created'));
      const afterwards = await t.db.owner.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', acme).executeTakeFirstOrThrow();
      assert.equal(Number(afterwards.n), Number(before.n));
    });

    test('bad export filters are 400 problems and record nothing', async () => {
      const before = (await stored((q) => q.where('action', '=', 'audit.exported'))).length;
      for (const query of ['action=%', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'limit=5']) {
        const response = await get(`/v1/tenants/${acme}/audit-events.csv?${query}`, auditor);
        assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      }
      assert.equal((await stored((q) => q.where('action', '=', 'audit.exported'))).length, before);
    });
  });

  describe('platform view (CON-ARCH-007)', () => {
    test('a platform auditor reads the platform chain and every tenant, narrowed by tenant or region', async () => {
      const everything = await walk('/v1/platform/audit-events', platformAuditor);
      const expected = await stored((q) => q);
      assert.deepEqual(everything.map((e) => e.id), expected.map((e) => e.id));
      const tenantsSeen = new Set(everything.map((e) => e.tenant_id));
      assert.ok(tenantsSeen.has(acme) && tenantsSeen.has(globex) && tenantsSeen.has(null));

      const onlyAcme = await walk(`/v1/platform/audit-events?tenant=${acme}`, platformAuditor);
      assert.deepEqual(onlyAcme.map((e) => e.id), expected.filter((e) => e.tenant_id === acme).map((e) => e.id));
      const onlyPlatform = await walk('/v1/platform/audit-events?tenant=platform', platformAuditor);
      assert.ok(onlyPlatform.length > 0 && onlyPlatform.every((e) => e.tenant_id === null));
      // acme is in the US, globex in the EU.
      const eu = await walk('/v1/platform/audit-events?region=EU', platformAuditor);
      assert.deepEqual(eu.map((e) => e.id), expected.filter((e) => e.tenant_id === globex).map((e) => e.id));
      const us = await walk('/v1/platform/audit-events?region=US&action=customer.*', platformAuditor);
      assert.ok(us.length > 0 && us.every((e) => e.tenant_id === acme));
      assert.deepEqual(await walk('/v1/platform/audit-events?region=JP', platformAuditor), []);
      assert.equal((await get('/v1/platform/audit-events?region=MARS', platformAuditor)).statusCode, 400);
      assert.equal((await get('/v1/platform/audit-events?tenant=acme', platformAuditor)).statusCode, 400);
    });

    test('an auditor bound to a region sees only that region\'s tenants and cannot ask for another (CON-ARCH-007)', async () => {
      const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
      await t.db.withPlatform((tx) =>
        tx.insertInto('users').values({ tenant_id: null, email: 'eu-auditor@demo.test', platform_role: 'auditor', platform_region: 'EU', password_hash: hash, email_verified_at: new Date() }).execute(),
      );
      const euAuditor = await t.login('eu-auditor@demo.test');
      const expected = await stored((q) => q.where('tenant_id', '=', globex));
      const seen = await walk('/v1/platform/audit-events', euAuditor);
      assert.ok(expected.every((e) => seen.some((s) => s.id === e.id)), 'every EU event is visible');
      assert.ok(seen.length > 0 && seen.every((e) => e.tenant_id === globex), 'only the EU tenant, not the platform chain nor acme');
      assert.equal((await get('/v1/platform/audit-events?region=US', euAuditor)).statusCode, 403);
      assert.equal((await get(`/v1/platform/audit-events?tenant=${acme}`, euAuditor)).statusCode, 200);
      assert.deepEqual(await walk(`/v1/platform/audit-events?tenant=${acme}`, euAuditor), []);
      const csv = await get('/v1/platform/audit-events.csv', euAuditor);
      const [header, ...rows] = parseCsv(csv.body);
      assert.ok(rows.length > 0 && rows.every((r) => r[header!.indexOf('tenant_id')] === globex));
    });

    test('the platform export is audited in the platform chain; an operator may search but not export', async () => {
      const response = await get('/v1/platform/audit-events.csv?region=EU', platformAuditor);
      assert.equal(response.statusCode, 200, response.body);
      const [header, ...rows] = parseCsv(response.body);
      assert.ok(rows.length > 0 && rows.every((r) => r[header!.indexOf('tenant_id')] === globex));
      const exported = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'audit.exported').where('tenant_id', 'is', null).executeTakeFirstOrThrow();
      assert.equal(exported.chain_id, '00000000-0000-0000-0000-000000000000');
      assert.deepEqual(exported.metadata, { format: 'csv', filters: { region: 'EU' } });

      assert.equal((await get('/v1/platform/audit-events?limit=1', operator)).statusCode, 200);
      assert.equal((await get('/v1/platform/audit-events.csv', operator)).statusCode, 403);
      assert.equal((await get('/v1/platform/audit-events.csv', auditor)).statusCode, 403);
    });

    test('the platform role may read tenant audit rows but never write, change or remove them', async () => {
      const state = async (run: () => Promise<unknown>) => {
        try {
          await run();
          return null;
        } catch (error) {
          return (error as { code?: string }).code;
        }
      };
      const seen = await t.db.withPlatform((tx) => tx.selectFrom('audit_events').select('id').where('tenant_id', '=', acme).limit(1).execute());
      assert.equal(seen.length, 1);
      // No tenant business data reaches the platform role.
      assert.equal(await state(() => t.db.withPlatform((tx) => tx.selectFrom('customers').select('id').execute())), '42501');
      const forged = {
        id: randomUUID(), tenant_id: acme, chain_id: acme, seq: 999_999, occurred_at: new Date(), category: 'audit' as const, severity: 'info' as const,
        actor_type: 'system' as const, actor_id: null, action: 'forged', resource_type: null, resource_id: null, outcome: 'success' as const,
        ip: null, user_agent: null, correlation_id: null, metadata: '{}', prev_hash: '', hash: '',
      };
      assert.equal(await state(() => t.db.withPlatform((tx) => tx.insertInto('audit_events').values(forged).execute())), '42501');
      assert.equal(await state(() => t.db.withPlatform((tx) => tx.updateTable('audit_events').set({ action: 'x' }).where('tenant_id', '=', acme).execute())), '42501');
      assert.equal(await state(() => t.db.withPlatform((tx) => tx.deleteFrom('audit_events').where('tenant_id', '=', acme).execute())), '42501');
      const policies = await sql<{ cmd: string }>`select cmd from pg_policies where tablename = 'audit_events' and policyname = 'platform_audit_read'`.execute(t.db.owner);
      assert.deepEqual(policies.rows, [{ cmd: 'SELECT' }]);
    });
  });

  describe('audit-on-read (FR-AUD-005)', () => {
    test('reading a customer records resource.read before the answer; a miss records nothing', async () => {
      const correlation = `read-${randomUUID()}`;
      const response = await get(`/v1/tenants/${acme}/customers/${customerId}`, owner, { 'x-request-id': correlation });
      assert.equal(response.statusCode, 200, response.body);
      const reads = await t.db.owner.selectFrom('audit_events').selectAll().where('correlation_id', '=', correlation).execute();
      assert.equal(reads.length, 1);
      assert.equal(reads[0]!.action, 'resource.read');
      assert.equal(reads[0]!.resource_type, 'customer');
      assert.equal(reads[0]!.resource_id, customerId);
      assert.equal(reads[0]!.actor_id, ownerId);
      assert.equal(reads[0]!.tenant_id, acme);

      const missing = randomUUID();
      assert.equal((await get(`/v1/tenants/${acme}/customers/${missing}`, owner)).statusCode, 404);
      assert.equal((await t.db.owner.selectFrom('audit_events').select('id').where('resource_id', '=', missing).execute()).length, 0);
      // Lists are not marked: reading them records nothing.
      const listCorrelation = `list-${randomUUID()}`;
      assert.equal((await get(`/v1/tenants/${acme}/customers`, owner, { 'x-request-id': listCorrelation })).statusCode, 200);
      assert.equal((await t.db.owner.selectFrom('audit_events').select('id').where('correlation_id', '=', listCorrelation).execute()).length, 0);
    });

    test('when the read cannot be audited the data is not served: 500 problem instead', async () => {
      const response = await withoutChainHead(acme, () => get(`/v1/tenants/${acme}/customers/${customerId}`, owner));
      assert.equal(response.statusCode, 500);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(response.json().type, '/problems/internal');
      assert.ok(!response.body.includes('Audited Customer'), 'the customer leaked without its audit event');
    });
  });
});
