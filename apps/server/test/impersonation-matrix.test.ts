// FR-RBAC-005: an impersonation session reads, and changes only what a route declares
// `impersonation: 'allowed'`; it never creates access that outlives it. Generated from the route
// table: a new write route is refused to impersonation until its declaration says otherwise.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { ACCESS_GRANTING_PERMISSIONS, isAppAccess, isPermission, planeOf } from '../src/kernel/auth/permissions.ts';
import { declarationOf } from '../src/kernel/http/guard.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

const REASON = 'Customer cannot find the order export (ticket 4711)';
const FORBIDDEN = '/problems/impersonation-forbidden';

/** The writes support needs while acting as a user: the sample business data, and ending the session. */
const ALLOWED_WRITES = [
  'POST /v1/auth/logout',
  'POST /v1/tenants/:tenantId/customers',
  'PATCH /v1/tenants/:tenantId/customers/:id',
  'DELETE /v1/tenants/:tenantId/customers/:id',
  'POST /v1/tenants/:tenantId/orders',
  'PATCH /v1/tenants/:tenantId/orders/:id',
  'DELETE /v1/tenants/:tenantId/orders/:id',
];

const isRead = (method: string) => method === 'GET' || method === 'HEAD';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('impersonation cannot plant lasting access (FR-RBAC-005)', () => {
  let t: TestPlatform;
  let acme: string;
  let supportId: string;
  let support: Session;
  let ownerId: string;

  /** Support acts as the acme Owner, the user who holds every tenant permission. */
  async function impersonateOwner(): Promise<{ token: string; sessionId: string }> {
    const response = await t.app.inject({ method: 'POST', url: '/v1/platform/impersonations', headers: support.headers, payload: { tenant_id: acme, user_id: ownerId, reason: REASON } });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json() as { access_token: string; session_id: string };
    return { token: body.access_token, sessionId: body.session_id };
  }
  const endImpersonation = (sessionId: string) => t.app.inject({ method: 'DELETE', url: `/v1/platform/impersonations/${sessionId}`, headers: support.headers });

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    supportId = await t.addStaff('support@platform.test', 'support');
    support = await t.login('support@platform.test');
    ownerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@acme.demo.test').executeTakeFirstOrThrow()).id;
  });
  after(() => t?.close());

  /** Every method of every route a session token reaches (public and application routes never see one). */
  const sessionRoutes = () =>
    t.running.routes
      .filter((route) => route.access !== 'public' && !isAppAccess(route.access))
      .flatMap((route) =>
        route.method
          .split(',')
          .filter((method) => method !== 'HEAD' && method !== 'OPTIONS')
          .map((method) => ({ method, url: route.url, access: route.access, impersonation: route.impersonation, key: `${method} ${route.url}` })),
      );

  test('the allow-list is exactly the writes support needs, and none of them needs a permission that grants access', () => {
    const allowed = sessionRoutes().filter((route) => !isRead(route.method) && route.impersonation === 'allowed');
    assert.deepEqual(allowed.map((route) => route.key).sort(), [...ALLOWED_WRITES].sort());
    for (const route of allowed) assert.ok(!(isPermission(route.access) && ACCESS_GRANTING_PERMISSIONS.has(route.access)), route.key);
    assert.ok(sessionRoutes().some((route) => route.access === 'users.invite' && !isRead(route.method)), 'the matrix reaches the invitation routes');
  });

  test('the OpenAPI document marks exactly the allowed writes (x-impersonation)', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, Record<string, Record<string, unknown>>> };
    const marked = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => operation['x-impersonation'] === 'allowed')
        .map(([method]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    assert.deepEqual(marked.sort(), [...ALLOWED_WRITES].sort());
  });

  test('every route as the impersonated Owner: reads answer as for the Owner, writes off the allow-list are 403 impersonation-forbidden', async (ctx) => {
    const { token, sessionId } = await impersonateOwner();
    // Logout ends the session: it is tried last.
    const routes = sessionRoutes().sort((a, b) => Number(a.key === 'POST /v1/auth/logout') - Number(b.key === 'POST /v1/auth/logout'));
    for (const route of routes) {
      await ctx.test(`${route.key} (${route.access})`, async () => {
        const url = route.url.replace(/:(\w+)/g, (_, name: string) => (name === 'tenantId' ? acme : randomUUID())).replace(/\*$/, 'x');
        const response = await t.app.inject({ method: route.method as 'GET', url, headers: bearer(token) });
        const type = response.statusCode >= 400 ? (response.json() as { type: string }).type : null;
        if (isRead(route.method) || ALLOWED_WRITES.includes(route.key)) {
          assert.notEqual(type, FORBIDDEN, response.body);
          assert.notEqual(response.statusCode, 401, response.body);
          // The Owner holds every tenant permission; platform routes stay closed to any tenant token.
          const tenantPlane = !isPermission(route.access) || planeOf(route.access) === 'tenant';
          if (tenantPlane) assert.notEqual(response.statusCode, 403, response.body);
        } else {
          assert.equal(response.statusCode, 403, response.body);
          assert.equal(type, FORBIDDEN, response.body);
        }
      });
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) })).statusCode, 401, 'logout ended the impersonation');
    await endImpersonation(sessionId);
  });

  test('the attack: Support, as the acme Owner, cannot invite an Owner, promote, assign, mint a key, configure SSO or take over the account', async () => {
    const { token, sessionId } = await impersonateOwner();
    const headers = bearer(token);
    const ownerRole = await t.db.owner.selectFrom('roles').select('id').where('tenant_id', '=', acme).where('key', '=', 'owner').executeTakeFirstOrThrow();
    const member = await t.db.owner.selectFrom('users').select('id').where('email', '=', 'member@acme.demo.test').executeTakeFirstOrThrow();
    const counts = async () => ({
      invitations: (await t.db.owner.selectFrom('invitations').select('id').where('tenant_id', '=', acme).execute()).length,
      users: (await t.db.owner.selectFrom('users').select('id').where('tenant_id', '=', acme).execute()).length,
      assignments: (await t.db.owner.selectFrom('role_assignments').select('id').where('tenant_id', '=', acme).execute()).length,
      apiKeys: (await t.db.owner.selectFrom('api_keys').select('id').where('tenant_id', '=', acme).execute()).length,
    });
    const before = await counts();
    const ownerBefore = await t.db.owner.selectFrom('users').select(['password_hash', 'phone']).where('id', '=', ownerId).executeTakeFirstOrThrow();
    const invitation = { email: 'planted@attacker.example', role_id: ownerRole.id };
    const attempts: [string, string, Record<string, unknown>][] = [
      ['POST', `/v1/tenants/${acme}/invitations`, invitation],
      ['PUT', `/v1/tenants/${acme}/users/${member.id}/role`, { role_id: ownerRole.id }],
      ['POST', `/v1/tenants/${acme}/role-assignments`, { user_id: member.id, role_id: ownerRole.id }],
      ['POST', `/v1/tenants/${acme}/api-keys`, { name: 'support backdoor', scopes: ['customers.read'] }],
      ['PUT', `/v1/tenants/${acme}/sso`, { issuer: 'https://idp.attacker.example', client_id: 'x', client_secret: 'y' }],
      ['PUT', `/v1/tenants/${acme}/session-policy`, { idle_timeout_seconds: null, absolute_ttl_seconds: null }],
      ['POST', '/v1/me/password', { current_password: TEST_PASSWORD, new_password: 'Planted-By-Support-2026!' }],
      ['PUT', '/v1/me/phone', { phone: '+15555550123' }],
      ['POST', '/v1/me/mfa/totp', {}],
    ];
    for (const [method, url, payload] of attempts) {
      const response = await t.app.inject({ method: method as 'POST', url, headers, payload });
      assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().type, FORBIDDEN, `${method} ${url}`);
    }
    assert.deepEqual(await counts(), before, 'nothing was created');
    assert.deepEqual(await t.db.owner.selectFrom('users').select(['password_hash', 'phone']).where('id', '=', ownerId).executeTakeFirstOrThrow(), ownerBefore, 'the account is unchanged');
    // The tenant's own chain tells its administrators who tried what.
    const events = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'security.impersonation_forbidden').where('chain_id', '=', acme).orderBy('seq').execute();
    const ofSession = events.filter((event) => event.metadata.session_id === sessionId);
    assert.equal(ofSession.length, attempts.length);
    assert.ok(ofSession.every((event) => event.severity === 'high' && event.category === 'security' && event.actor_id === ownerId && event.impersonator_id === supportId));
    assert.deepEqual(ofSession[0]!.metadata, { session_id: sessionId, method: 'POST', route: '/v1/tenants/:tenantId/invitations' });

    // The same invitation from the Owner's own session is created: the refusal is the impersonation's.
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const own = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/invitations`, headers: owner.headers, payload: invitation });
    assert.equal(own.statusCode, 201, own.body);
    await endImpersonation(sessionId);
  });

  test('the server refuses to start with a route that grants access declared impersonation-allowed', () => {
    const route = (method: string, url: string, access: string, extra: Record<string, unknown> = {}) =>
      ({ method, url, handler: async () => null, config: { access, requirements: ['FR-RBAC-005'], ...extra } }) as unknown as RouteOptions;
    for (const access of ACCESS_GRANTING_PERMISSIONS) {
      assert.throws(() => declarationOf(route('POST', '/v1/tenants/:tenantId/planted', access, { impersonation: 'allowed' })), /grants access: never allowed to impersonation/, access);
    }
    assert.throws(() => declarationOf(route('POST', '/v1/planted', 'public', { impersonation: 'allowed' })), /impersonation/);
    assert.throws(() => declarationOf(route('GET', '/v1/tenants/:tenantId/planted', 'customers.read', { impersonation: 'allowed' })), /impersonation/);
    assert.throws(() => declarationOf(route('POST', '/v1/tenants/:tenantId/planted', 'customers.write', { impersonation: 'yes' })), /impersonation/);
    assert.equal(declarationOf(route('POST', '/v1/tenants/:tenantId/planted', 'customers.write', { impersonation: 'allowed' }))?.impersonation, 'allowed');
    assert.equal(declarationOf(route('POST', '/v1/tenants/:tenantId/planted', 'customers.write'))?.impersonation, 'denied');
    assert.equal(declarationOf(route('GET', '/v1/tenants/:tenantId/planted', 'customers.read'))?.impersonation, 'allowed');
  });
});
