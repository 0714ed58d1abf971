// The HTTP half of tenant isolation (DESIGN "Tenant isolation", rules 4 and 7), generated from the
// route table the server builds as routes are added (`running.routes`): a new route is covered by
// these tests without editing them, and a route they cannot understand fails them loudly.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { PLATFORM_CHAIN } from '../src/kernel/audit/audit.ts';
import { APP_SCOPES } from '../src/kernel/auth/permissions.ts';
import type { RouteDeclaration } from '../src/kernel/http/guard.ts';
import { buildTestPlatform, eventually, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

const TENANT_PREFIX = '/v1/tenants/:tenantId';

/**
 * The table behind each resource segment of a tenant route (`/v1/tenants/:tenantId/<segment>/…`).
 * A route under a segment missing here fails the tests: add the segment and its table.
 */
const RESOURCES: Record<string, string> = {
  customers: 'customers',
  orders: 'orders',
  roles: 'roles',
  units: 'org_units',
  'role-assignments': 'role_assignments',
  'audit-events': 'audit_events',
  'audit-events.csv': 'audit_events',
  config: 'tenant_settings',
  settings: 'tenant_settings',
  users: 'users',
  invitations: 'invitations',
  'invitation-settings': 'invitation_settings',
  'password-policy': 'password_policies',
  plan: 'tenants',
  'api-keys': 'api_keys',
  'session-policy': 'tenant_session_policy',
  sso: 'tenant_sso_configs',
  'mfa-policy': 'tenant_mfa_policy',
  'verification-policy': 'tenant_verification_policy',
};

/** Resources nested under another (path after the tenant → table); their rows are not the parent's. */
const NESTED_RESOURCES: Record<string, string> = {
  'users/:userId/sessions': 'sessions',
};

/** Segments whose GET answers one document of the caller's tenant (with its tenant_id), not a list. */
const DOCUMENTS = new Set(['config', 'password-policy', 'session-policy', 'sso', 'mfa-policy', 'verification-policy']);

interface SampleContext {
  /** The row the route addresses (routes with :id), as the owner reads it. */
  target: { id: string; version: number } | null;
  /** A live customer of the tenant the request names in its path. */
  customerId: string;
}

/**
 * A valid body for every tenant route that takes one, keyed by method and the path after the
 * tenant. A route with a body and no sample here fails the tests: add a sample.
 */
const SAMPLES: Record<string, (ctx: SampleContext) => unknown> = {
  'POST customers': () => ({ name: 'Isolation probe' }),
  'PATCH customers/:id': ({ target }) => ({ name: 'Hijacked', version: target!.version }),
  'POST orders': ({ customerId }) => ({ customer_id: customerId, total_cents: 100, currency: 'USD' }),
  'PATCH orders/:id': ({ target }) => ({ notes: 'Hijacked', version: target!.version }),
  'PUT settings': () => ({ settings: { locale: 'en', timezone: 'UTC' }, branding: { logo_url: null, primary_color: '#000000', accent_color: null } }),
  'POST roles': () => ({ name: `Isolation probe ${randomUUID()}`, permissions: ['customers.read'] }),
  'PATCH roles/:id': ({ target }) => ({ name: 'Hijacked', version: target!.version }),
  'POST units': () => ({ name: `Isolation probe ${randomUUID()}` }),
  'PATCH units/:id': ({ target }) => ({ name: 'Hijacked', version: target!.version }),
  'POST role-assignments': () => ({ user_id: randomUUID(), role_id: randomUUID() }),
  'PUT users/:id/role': ({ target }) => ({ role_id: randomUUID(), version: target!.version }),
  'POST invitations': () => ({ email: `probe-${randomUUID()}@example.com`, role_id: randomUUID() }),
  'PUT invitation-settings': () => ({ expiry_days: 7 }),
  'PUT password-policy': () => ({ min_length: 14, require_all_classes: false, history: 5 }),
  'PUT plan': () => ({ plan: 'enterprise' }),
  'PUT session-policy': () => ({ idle_timeout_seconds: 600, absolute_ttl_seconds: null }),
  'PUT sso': () => ({ issuer: 'https://idp.example.com', client_id: 'probe', client_secret: 'probe-secret', allowed_domains: ['example.com'], enabled: true, default_role: 'member' }),
  'PUT mfa-policy': () => ({ required: 'admins', new_device: true }),
  'PUT verification-policy': () => ({ require_phone: false, default_channel: 'whatsapp' }),
  'POST api-keys': () => ({ name: 'Isolation probe', scopes: ['customers.read'] }),
  'POST api-keys/:id/rotate': () => ({}),
  'POST audit-events': () => ({
    events: [{ id: randomUUID(), occurred_at: new Date(Date.now() - 60_000).toISOString(), actor: { type: 'system' }, action: 'app.isolation.probe', outcome: 'success' }],
  }),
};

interface Endpoint {
  method: string;
  url: string;
  access: RouteDeclaration['access'];
  /** The JSON schema of the request body, from the OpenAPI document; null when it takes none. */
  body: { required?: string[] } | null;
}

/** The path after /v1/tenants/:tenantId/ (e.g. 'customers/:id'). */
const tenantPath = (url: string) => url.slice(TENANT_PREFIX.length + 1);

function resourceOf(endpoint: Endpoint): { segment: string; table: string } {
  const nested = Object.keys(NESTED_RESOURCES).find((prefix) => tenantPath(endpoint.url).startsWith(prefix));
  if (nested) return { segment: nested, table: NESTED_RESOURCES[nested]! };
  const segment = tenantPath(endpoint.url).split('/')[0]!;
  const table = RESOURCES[segment];
  assert.ok(
    table,
    `${endpoint.method} ${endpoint.url}: unknown resource '${segment}'. Add it to RESOURCES in ${import.meta.url.split('/').pop()} (segment → table) so its isolation is tested.`,
  );
  return { segment, table };
}

function sampleFor(endpoint: Endpoint, ctx: SampleContext): unknown {
  if (!endpoint.body) return undefined;
  const key = `${endpoint.method} ${tenantPath(endpoint.url)}`;
  const sample = SAMPLES[key];
  assert.ok(sample, `${endpoint.method} ${endpoint.url} takes a body: add a valid sample for '${key}' to SAMPLES in ${import.meta.url.split('/').pop()}.`);
  return sample(ctx);
}

/** Fills the path parameters; a parameter the test does not know fails it. */
function fill(url: string, params: Record<string, string>): string {
  return url
    .replace(/:(\w+)/g, (_, name: string) => {
      const value = params[name];
      assert.ok(value, `${url}: the test does not know what to put in :${name}; teach it (see fill()).`);
      return encodeURIComponent(value);
    })
    .replace(/\*$/, 'x');
}

function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; body: string; json(): unknown }, status: number, type?: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  if (type) assert.equal((response.json() as { type: string }).type, type, response.body);
}

describe('tenant isolation over HTTP, for every route in the route table', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let acmeOwner: Session;
  let acmeOwnerId: string;
  let operator: Session;
  /** Platform Support: the routes that need platform.impersonate, which Operators lack. */
  let support: Session;
  /** A managed application's key with every scope, for acme only (routes declaring `app:<scope>`). */
  let acmeApp: { authorization: string };
  let endpoints: Endpoint[];
  let tenantTables: string[];

  const tenantEndpoints = () => endpoints.filter((e) => e.url.startsWith(TENANT_PREFIX));

  /** One live row of a resource table in a tenant, as the owner reads it. */
  async function rowOf(table: string, tenantId: string): Promise<{ id: string; version: number }> {
    const columns = await t.db.ownerExecute(`select column_name from information_schema.columns where table_schema = 'public' and table_name = $1`, [table]);
    const has = new Set((columns as { rows: { column_name: string }[] }).rows.map((r) => r.column_name));
    const result = await t.db.ownerExecute(
      `select id::text as id, ${has.has('version') ? 'version' : '1 as version'} from public.${table}
       where tenant_id = $1 ${has.has('deleted_at') ? 'and deleted_at is null' : ''} order by created_at, id limit 1`,
      [tenantId],
    );
    const row = (result as { rows: { id: string; version: number }[] }).rows[0];
    assert.ok(row, `no ${table} row in tenant ${tenantId}: seed one so the test can aim at it`);
    return row;
  }

  /** A row in full (every column), to prove it did not change. */
  async function snapshot(table: string, id: string): Promise<string> {
    const result = await t.db.ownerExecute(`select to_jsonb(r)::text as row from public.${table} r where id = $1`, [id]);
    return String((result as { rows: { row: string }[] }).rows[0]?.row);
  }

  /** Everything one tenant owns, across every tenant table (including its audit chain). */
  async function fingerprint(tenantId: string | null): Promise<Record<string, string>> {
    const print: Record<string, string> = {};
    const tables = tenantId === null ? (await t.db.ownerExecute(`select tablename from pg_tables where schemaname = 'public'`)) : null;
    const names = tables ? (tables as { rows: { tablename: string }[] }).rows.map((r) => r.tablename) : tenantTables;
    for (const table of names.sort()) {
      const where = tenantId === null ? '' : 'where tenant_id = $1';
      const result = await t.db.ownerExecute(
        `select count(*)::int || ':' || md5(coalesce(string_agg(r::text, '|' order by r::text), '')) as print from public.${table} r ${where}`,
        tenantId === null ? [] : [tenantId],
      );
      print[table] = String((result as { rows: { print: string }[] }).rows[0]!.print);
    }
    return print;
  }

  /** Recorded in the caller's chain: acme's for its users, the platform's for an application. */
  async function crossTenantAttempts(route: string, method: string, chain: 'acme' | 'platform' = 'acme'): Promise<number> {
    const row = await t.db.owner
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('chain_id', '=', chain === 'acme' ? acme : PLATFORM_CHAIN)
      .where((eb) => (chain === 'acme' ? eb('tenant_id', '=', acme) : eb('tenant_id', 'is', null)))
      .where('action', '=', 'security.cross_tenant_attempt')
      .where('category', '=', 'security')
      .where(sql<string>`metadata->>'route'`, '=', route)
      .where(sql<string>`metadata->>'method'`, '=', method)
      .where(sql<string>`metadata->>'path_tenant'`, '=', globex)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  before(async () => {
    // No worker: background jobs would change rows the tests compare.
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    acmeOwnerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@acme.demo.test').executeTakeFirstOrThrow()).id;
    operator = await t.login('operator@demo.test');
    const supportHash = await t.running.platform.passwords.hash(TEST_PASSWORD);
    await t.db.withPlatform((tx) =>
      tx.insertInto('users').values({ tenant_id: null, email: 'support@demo.test', platform_role: 'support', password_hash: supportHash, email_verified_at: new Date() }).execute(),
    );
    support = await t.login('support@demo.test');
    const registered = await t.app.inject({
      method: 'POST',
      url: '/v1/platform/apps',
      headers: operator.headers,
      payload: { name: 'Isolation probe', environment: 'production', owner: 'ops@x.test' },
    });
    const issued = await t.app.inject({
      method: 'POST',
      url: `/v1/platform/apps/${(registered.json() as { id: string }).id}/keys`,
      headers: operator.headers,
      payload: { scopes: [...APP_SCOPES], tenant_ids: [acme] },
    });
    assert.equal(issued.statusCode, 201, issued.body);
    acmeApp = { authorization: `Bearer ${(issued.json() as { secret: string }).secret}` };
    // An invitation and an API key in each tenant, for their routes to aim at.
    for (const [tenantId, session] of [[acme, acmeOwner], [globex, await t.login('owner@globex.demo.test', 'globex')]] as const) {
      const roles = (await t.app.inject({ method: 'GET', url: `/v1/tenants/${tenantId}/roles`, headers: session.headers })).json() as { items: { id: string }[] };
      const invited = await t.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/invitations`,
        headers: session.headers,
        payload: { email: 'isolation-probe@example.com', role_id: roles.items[0]!.id },
      });
      assert.equal(invited.statusCode, 201, invited.body);
      const key = await t.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/api-keys`,
        headers: session.headers,
        payload: { name: 'Isolation probe', scopes: ['customers.read'] },
      });
      assert.equal(key.statusCode, 201, key.body);
    }

    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id'`.execute(t.db.owner);
    tenantTables = tables.rows.map((r) => r.table_name);

    // Which routes take a body: the OpenAPI document carries each route's body schema.
    const doc = t.app.swagger() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Endpoint['body'] }> } }>> };
    endpoints = t.running.routes.flatMap((route) =>
      route.method
        .split(',')
        .filter((method) => method !== 'HEAD' && method !== 'OPTIONS')
        .map((method) => {
          const operation = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
          // A route missing from the document could take a body this test cannot see.
          if (method !== 'GET' && method !== 'DELETE') {
            assert.ok(operation, `${method} ${route.url} is not in the OpenAPI document, so the test cannot tell whether it takes a body`);
          }
          return { method, url: route.url, access: route.access, body: operation?.requestBody?.content['application/json']?.schema ?? null };
        }),
    );
  });
  after(() => t?.close());

  test('the route table holds the tenant routes (the generated tests are not vacuous)', () => {
    const names = tenantEndpoints().map((e) => `${e.method} ${e.url}`);
    for (const expected of ['GET /v1/tenants/:tenantId/customers', 'PATCH /v1/tenants/:tenantId/customers/:id', 'DELETE /v1/tenants/:tenantId/orders/:id']) {
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    }
    for (const endpoint of tenantEndpoints()) resourceOf(endpoint);
  });

  test("(i) another tenant's id in the path is refused with 403 tenant-mismatch and recorded in the caller's chain", async (ctx) => {
    const globexBefore = await fingerprint(globex);
    for (const endpoint of tenantEndpoints()) {
      await ctx.test(`${endpoint.method} ${endpoint.url}`, async () => {
        const { table } = resourceOf(endpoint);
        const target = endpoint.url.includes('/:id') ? await rowOf(table, globex) : null;
        const payload = sampleFor(endpoint, { target, customerId: (await rowOf('customers', globex)).id });
        const caller = endpoint.access.startsWith('app:') ? 'platform' : 'acme';
        const before = await crossTenantAttempts(endpoint.url, endpoint.method, caller);
        const response = await t.app.inject({
          method: endpoint.method as 'GET',
          url: fill(endpoint.url, { tenantId: globex, id: target?.id ?? randomUUID(), userId: randomUUID() }),
          headers: caller === 'platform' ? acmeApp : acmeOwner.headers,
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        assertProblem(response, 403, '/problems/tenant-mismatch');
        assert.equal(await crossTenantAttempts(endpoint.url, endpoint.method, caller), before + 1, `no security.cross_tenant_attempt event in the ${caller} chain`);
        assert.deepEqual(await fingerprint(globex), globexBefore, "globex's data changed");
      });
    }
  });

  test("(ii) a globex resource id under acme's own path is not found (404) and stays unchanged", async (ctx) => {
    const withId = tenantEndpoints().filter((e) => e.url.includes('/:id'));
    assert.ok(withId.length > 0);
    const globexBefore = await fingerprint(globex);
    for (const endpoint of withId) {
      await ctx.test(`${endpoint.method} ${endpoint.url}`, async () => {
        const { table } = resourceOf(endpoint);
        const target = await rowOf(table, globex);
        const before = await snapshot(table, target.id);
        const payload = sampleFor(endpoint, { target, customerId: (await rowOf('customers', acme)).id });
        const response = await t.app.inject({
          method: endpoint.method as 'GET',
          url: fill(endpoint.url, { tenantId: acme, id: target.id, userId: acmeOwnerId }),
          headers: acmeOwner.headers,
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        // Not 403: the answer must not even reveal that the id exists elsewhere.
        assertProblem(response, 404, '/problems/not-found');
        assert.equal(await snapshot(table, target.id), before, `the globex ${table} row changed (version, updated_at or other columns)`);
      });
    }
    assert.deepEqual(await fingerprint(globex), globexBefore, "globex's data changed");
  });

  test("(iii) list routes return only the caller's tenant's rows", async (ctx) => {
    const lists = tenantEndpoints().filter((e) => e.method === 'GET' && !e.url.includes('/:id'));
    assert.ok(lists.length > 0);
    for (const endpoint of lists) {
      await ctx.test(`${endpoint.method} ${endpoint.url}`, async () => {
        const { table } = resourceOf(endpoint);
        const csv = endpoint.url.endsWith('.csv');
        const response = await t.app.inject({ method: 'GET', url: `${fill(endpoint.url, { tenantId: acme, userId: acmeOwnerId })}${csv ? '' : '?limit=200'}`, headers: acmeOwner.headers });
        assert.equal(response.statusCode, 200, response.body);
        if (DOCUMENTS.has(resourceOf(endpoint).segment)) {
          assert.equal((response.json() as { tenant_id?: string }).tenant_id, acme, `${endpoint.url} answered another tenant's document`);
          return;
        }
        // Read after the request: it may list rows it wrote itself (an export lists its own audit event).
        const owned = await t.db.ownerExecute(`select id::text as id, tenant_id::text as tenant_id from public.${table}`);
        const tenantOf = new Map((owned as { rows: { id: string; tenant_id: string }[] }).rows.map((r) => [r.id, r.tenant_id]));
        // A CSV export: the id is the first column of each record after the header.
        const body = csv
          ? { items: response.body.split('\r\n').slice(1, -1).map((record) => ({ id: record.split(',')[0]! })) }
          : (response.json() as { items?: { id: string }[] });
        assert.ok(Array.isArray(body.items), `${endpoint.url} does not answer { items: [...] }; teach this test its shape`);
        assert.ok(body.items.length > 0, `acme has no ${table} to list: the check would be vacuous`);
        const foreign = body.items.filter((item) => tenantOf.get(item.id) !== acme);
        assert.deepEqual(foreign, [], `${endpoint.url} returned rows that are not acme's`);
      });
    }
  });

  test('(iv) every non-public route answers 401 problem+json to an anonymous call or a forged token', async (ctx) => {
    const guarded = endpoints.filter((e) => e.access !== 'public');
    assert.ok(guarded.length > tenantEndpoints().length);
    for (const endpoint of guarded) {
      await ctx.test(`${endpoint.method} ${endpoint.url}`, async () => {
        const url = fill(endpoint.url, { tenantId: acme, id: randomUUID(), appId: randomUUID(), keyId: randomUUID(), key: 'isolation-probe', userId: randomUUID() });
        for (const headers of [{}, { authorization: 'Bearer not.a.token' }]) {
          const response = await t.app.inject({ method: endpoint.method as 'GET', url, headers });
          assertProblem(response, 401, '/problems/unauthorized');
        }
      });
    }
  });

  test('(iv) every route with a body answers 400 problem+json to an invalid body and changes nothing', async (ctx) => {
    const withBody = endpoints.filter((e) => e.body);
    assert.ok(withBody.length > 0);
    // An application key records its last use at most once a minute: use it now, so that the
    // requests below leave the database as it is.
    const appRoute = withBody.find((e) => e.access.startsWith('app:'));
    if (appRoute) {
      await t.app.inject({ method: appRoute.method as 'POST', url: fill(appRoute.url, { tenantId: acme }), headers: acmeApp, payload: {} });
      await eventually(async () => (await t.db.owner.selectFrom('application_keys').select('id').where('last_used_at', 'is not', null).execute()).length > 0);
    }
    const everything = await fingerprint(null);
    for (const endpoint of withBody) {
      await ctx.test(`${endpoint.method} ${endpoint.url}`, async () => {
        const tenantRoute = endpoint.url.startsWith(TENANT_PREFIX);
        const id = tenantRoute && endpoint.url.includes('/:id') ? (await rowOf(resourceOf(endpoint).table, acme)).id : acme;
        const headers =
          endpoint.access === 'public'
            ? {}
            : endpoint.access === 'platform.impersonate'
              ? support.headers
              : endpoint.access.startsWith('platform.')
                ? operator.headers
                : endpoint.access.startsWith('app:')
                  ? acmeApp
                  : acmeOwner.headers;
        // The wrong JSON type always; an empty object where the schema requires properties.
        const invalid: unknown[] = [[], 'text', ...(endpoint.body!.required?.length ? [{}] : [])];
        for (const payload of invalid) {
          const response = await t.app.inject({
            method: endpoint.method as 'POST',
            url: fill(endpoint.url, { tenantId: acme, id, appId: id, keyId: id, key: 'isolation-probe' }),
            headers: { ...headers, 'content-type': 'application/json' },
            payload: JSON.stringify(payload),
          });
          assertProblem(response, 400, '/problems/validation');
        }
      });
    }
    assert.deepEqual(await fingerprint(null), everything, 'an invalid body changed the database');
  });
});
