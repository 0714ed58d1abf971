import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, eventually, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';

const OWNER_PASSWORD = 'Initial-Owner-Passw0rd!';
const URL = '/v1/platform/tenants';

interface TenantBody {
  id: string;
  name: string;
  slug: string;
  plan: string;
  region: string;
  status: 'active' | 'suspended';
  version: number;
  created_at: string;
  updated_at: string;
}

describe('tenancy: provisioning, listing, changes, suspension (FR-TEN-001, FR-TEN-002, UC-PROV-001)', () => {
  let t: TestPlatform;
  let operator: Session;

  const create = (payload: Record<string, unknown>, headers = operator.headers) => t.app.inject({ method: 'POST', url: URL, headers, payload });
  const me = (session: Session) => t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers });
  const loginRaw = (email: string, tenant: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, tenant, password } });

  before(async () => {
    t = await buildTestPlatform();
    operator = await t.login('operator@demo.test');
  });
  after(() => t.close());

  test('an operator creates a tenant with its first Owner, who can log in to it at once', async () => {
    const response = await create({
      name: 'Initech',
      slug: 'initech',
      region: 'UK',
      owner: { email: 'Bill.Lumbergh@Initech.example', name: 'Bill', password: OWNER_PASSWORD },
    });
    assert.equal(response.statusCode, 201, response.body);
    const tenant = response.json() as TenantBody;
    assert.equal(tenant.slug, 'initech');
    assert.equal(tenant.region, 'UK');
    assert.equal(tenant.plan, 'standard');
    assert.equal(tenant.status, 'active');
    assert.equal(tenant.version, 1);

    // The address was normalised when stored, so any spelling logs in.
    const owner = await t.login('bill.lumbergh@initech.example', 'initech', OWNER_PASSWORD);
    const profile = (await me(owner)).json();
    assert.equal(profile.tenant_id, tenant.id);
    assert.equal(profile.tenant_slug, 'initech');
    assert.deepEqual(profile.roles, ['owner']);

    // The worker sends the welcome mail, in the new tenant's context.
    const mail = await eventually(() =>
      t.db.owner.selectFrom('dev_mailbox').selectAll().where('recipient', '=', 'bill.lumbergh@initech.example').where('subject', '=', 'Welcome to Initech').executeTakeFirst(),
    );
    assert.equal(mail.tenant_id, tenant.id);
    assert.equal(mail.subject, 'Welcome to Initech');
    assert.match(mail.body, /"initech"/);

    // Audited on the platform chain and opened the tenant's own chain.
    const created = await t.db.owner
      .selectFrom('audit_events')
      .select(['tenant_id', 'actor_type'])
      .where('action', '=', 'tenant.created')
      .where('resource_id', '=', tenant.id)
      .execute();
    assert.equal(created.length, 2);
    assert.ok(created.some((event) => event.tenant_id === null), 'on the platform chain');
    assert.ok(created.some((event) => event.tenant_id === tenant.id), "on the tenant's chain");
    assert.ok(created.every((event) => event.actor_type === 'operator'));
  });

  test('a slug that names a fixed sign-in path (callback) is refused and creates nothing', async () => {
    const response = await create({ name: 'Callback Ltd', slug: 'callback', region: 'US', owner: { email: 'owner@callback.example' } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().type, '/problems/validation');
    assert.equal(await t.db.owner.selectFrom('tenants').select('id').where('slug', '=', 'callback').executeTakeFirst(), undefined);
  });

  test('a duplicate slug is a 409 problem and creates nothing', async () => {
    const response = await create({ name: 'Acme again', slug: 'acme', region: 'US', owner: { email: 'dup@acme.example' } });
    assert.equal(response.statusCode, 409);
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(response.json().type, '/problems/conflict');
    const count = await t.db.owner.selectFrom('tenants').select((eb) => eb.fn.countAll<number>().as('n')).where('slug', '=', 'acme').executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1);
    const user = await t.db.owner.selectFrom('users').select('id').where('email', '=', 'dup@acme.example').executeTakeFirst();
    assert.equal(user, undefined);
  });

  test('an invalid region or slug is a 400 listing the offending fields', async () => {
    const badRegion = await create({ name: 'Nowhere', slug: 'nowhere', region: 'MARS', owner: { email: 'a@nowhere.example' } });
    assert.equal(badRegion.statusCode, 400, badRegion.body);
    assert.equal(badRegion.json().type, '/problems/validation');
    assert.ok(Array.isArray(badRegion.json().errors));
    assert.ok(badRegion.json().errors.some((e: { path: string }) => e.path.includes('region')), badRegion.body);

    for (const slug of ['Bad_Slug', '-leading-dash', 'trailing-', 'x'.repeat(64), 'spaces here']) {
      const badSlug = await create({ name: 'Bad', slug, region: 'EU', owner: { email: 'a@bad.example' } });
      assert.equal(badSlug.statusCode, 400, `${slug}: ${badSlug.body}`);
      assert.ok(badSlug.json().errors.some((e: { path: string }) => e.path.includes('slug')), badSlug.body);
    }

    const shortPassword = await create({ name: 'Weak', slug: 'weak', region: 'EU', owner: { email: 'a@weak.example', password: 'short' } });
    assert.equal(shortPassword.statusCode, 400);
    assert.ok(shortPassword.json().errors.some((e: { path: string }) => e.path.includes('password')));
  });

  test('the list pages through every tenant exactly once with a cursor', async () => {
    for (const slug of ['page-a', 'page-b', 'page-c']) {
      const response = await create({ name: slug, slug, region: 'JP', owner: { email: `owner@${slug}.example` } });
      assert.equal(response.statusCode, 201, response.body);
    }
    const all = (await t.app.inject({ method: 'GET', url: `${URL}?limit=200`, headers: operator.headers })).json() as { items: TenantBody[] };

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `${URL}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await t.app.inject({ method: 'GET', url, headers: operator.headers });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json() as { items: TenantBody[]; next_cursor: string | null };
      assert.ok(body.items.length <= 2);
      seen.push(...body.items.map((tenant) => tenant.slug));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    assert.deepEqual(seen, all.items.map((tenant) => tenant.slug));
    assert.equal(new Set(seen).size, seen.length, 'no tenant twice');
    for (const slug of ['acme', 'globex', 'page-a', 'page-b', 'page-c']) assert.ok(seen.includes(slug), slug);

    const bad = await t.app.inject({ method: 'GET', url: `${URL}?cursor=garbage`, headers: operator.headers });
    assert.equal(bad.statusCode, 400);
  });

  test('PATCH applies with the current version and refuses a stale one with 409', async () => {
    const tenant = (await create({ name: 'Versioned', slug: 'versioned', region: 'EU', owner: { email: 'owner@versioned.example' } })).json() as TenantBody;
    const patch = (payload: Record<string, unknown>) =>
      t.app.inject({ method: 'PATCH', url: `${URL}/${tenant.id}`, headers: operator.headers, payload });

    const renamed = await patch({ name: 'Versioned GmbH', plan: 'enterprise', version: 1 });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().name, 'Versioned GmbH');
    assert.equal(renamed.json().plan, 'enterprise');
    assert.equal(renamed.json().version, 2);

    const stale = await patch({ name: 'Lost update', version: 1 });
    assert.equal(stale.statusCode, 409);
    assert.equal(stale.json().type, '/problems/version-conflict');
    const read = (await t.app.inject({ method: 'GET', url: `${URL}/${tenant.id}`, headers: operator.headers })).json();
    assert.equal(read.name, 'Versioned GmbH', 'the stale write changed nothing');

    const missing = await t.app.inject({ method: 'PATCH', url: `${URL}/00000000-0000-4000-8000-000000000000`, headers: operator.headers, payload: { name: 'x', version: 1 } });
    assert.equal(missing.statusCode, 404);
  });

  test('tenant users cannot reach the platform API (403)', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    for (const request of [
      { method: 'GET' as const, url: URL },
      { method: 'GET' as const, url: `${URL}/${t.tenants.acme!.id}` },
      { method: 'POST' as const, url: `${URL}/${t.tenants.globex!.id}/suspend` },
    ]) {
      const response = await t.app.inject({ ...request, headers: owner.headers });
      assert.equal(response.statusCode, 403, `${request.method} ${request.url}`);
      assert.equal(response.json().type, '/problems/forbidden');
    }
    const created = await create({ name: 'Sneaky', slug: 'sneaky', region: 'US', owner: { email: 'x@sneaky.example' } }, owner.headers);
    assert.equal(created.statusCode, 403);
    assert.equal((await t.app.inject({ method: 'GET', url: URL })).statusCode, 401, 'and anonymous callers get 401');
    assert.equal((await t.db.owner.selectFrom('tenants').select('id').where('slug', '=', 'globex').where('status', '=', 'active').execute()).length, 1);
  });

  test('suspension ends every session of the tenant at once and blocks login; the other tenant is unaffected; reactivation restores login', async () => {
    const acme = t.tenants.acme!.id;
    const acmeSessions = [await t.login('owner@acme.demo.test', 'acme'), await t.login('member@acme.demo.test', 'acme'), await t.login('member@acme.demo.test', 'acme')];
    const globex = await t.login('owner@globex.demo.test', 'globex');
    // Warm the session cache: the 401s below must come from eviction, not from a cold cache.
    for (const session of [...acmeSessions, globex]) assert.equal((await me(session)).statusCode, 200);

    const suspended = await t.app.inject({ method: 'POST', url: `${URL}/${acme}/suspend`, headers: operator.headers });
    assert.equal(suspended.statusCode, 200, suspended.body);
    assert.equal(suspended.json().status, 'suspended');

    for (const session of acmeSessions) {
      const response = await me(session);
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().type, '/problems/unauthorized');
      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: session.refreshToken } });
      assert.equal(refreshed.statusCode, 401, 'refresh tokens are revoked too');
    }
    const blocked = await loginRaw('owner@acme.demo.test', 'acme', TEST_PASSWORD);
    assert.equal(blocked.statusCode, 403, blocked.body);
    assert.equal(blocked.json().type, '/problems/tenant-suspended');

    assert.equal((await me(globex)).statusCode, 200, 'globex keeps its session');
    await t.login('member@globex.demo.test', 'globex');

    const reactivated = await t.app.inject({ method: 'POST', url: `${URL}/${acme}/reactivate`, headers: operator.headers });
    assert.equal(reactivated.statusCode, 200, reactivated.body);
    assert.equal(reactivated.json().status, 'active');
    const back = await t.login('owner@acme.demo.test', 'acme');
    assert.equal((await me(back)).statusCode, 200);
    assert.equal((await me(acmeSessions[0]!)).statusCode, 401, 'sessions ended by the suspension stay ended');

    const events = await t.db.owner
      .selectFrom('audit_events')
      .select(['action', 'tenant_id'])
      .where('resource_id', '=', acme)
      .where('action', 'in', ['tenant.suspended', 'tenant.reactivated'])
      .orderBy('occurred_at')
      .execute();
    // Suspension is recorded in the platform chain and in the tenant's own chain.
    assert.equal(events.filter((e) => e.action === 'tenant.suspended' && e.tenant_id === null).length, 1);
    assert.equal(events.filter((e) => e.action === 'tenant.suspended' && e.tenant_id === acme).length, 1);
    assert.equal(events.filter((e) => e.action === 'tenant.reactivated').length, 1);
    const revoked = await t.db.owner
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('tenant_id', '=', acme)
      .where('revoked_reason', '=', 'tenant_suspended')
      .execute();
    assert.ok(revoked.length >= acmeSessions.length);
  });

  test('suspending an unknown tenant is 404; an id that is not a UUID is 400', async () => {
    const unknown = await t.app.inject({ method: 'POST', url: `${URL}/00000000-0000-4000-8000-000000000000/suspend`, headers: operator.headers });
    assert.equal(unknown.statusCode, 404);
    const malformed = await t.app.inject({ method: 'POST', url: `${URL}/not-a-uuid/suspend`, headers: operator.headers });
    assert.equal(malformed.statusCode, 400);
  });
});
