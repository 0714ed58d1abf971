// FR-RBAC-004: every route x every default role, allow or deny, generated from the route table and
// the permission catalog. A new route adds rows here by itself; a route whose permission a role
// holds must let that role past the guard, and every other role must get 403.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  DEFAULT_TENANT_ROLES,
  isPermission,
  planeOf,
  PLATFORM_ROLES,
  type DefaultTenantRole,
  type Permission,
  type PlatformRole,
} from '../src/kernel/auth/permissions.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

/** Platform roles a stored user can hold (Super Admin is never stored). */
const STORED_PLATFORM_ROLES = ['operator', 'support', 'auditor'] as const satisfies readonly PlatformRole[];

describe('authorization matrix: every route x every role (FR-RBAC-002, FR-RBAC-004)', () => {
  let t: TestPlatform;
  let acme: string;
  const tenantSessions = new Map<DefaultTenantRole, Session>();
  const platformSessions = new Map<PlatformRole, Session>();

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    for (const role of Object.keys(DEFAULT_TENANT_ROLES) as DefaultTenantRole[]) {
      await t.addUser('acme', `matrix-${role}@acme.demo.test`, role);
      tenantSessions.set(role, await t.login(`matrix-${role}@acme.demo.test`, 'acme'));
    }
    const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
    for (const role of STORED_PLATFORM_ROLES) {
      await t.db.withPlatform((tx) =>
        tx.insertInto('users').values({ tenant_id: null, email: `matrix-${role}@demo.test`, platform_role: role, password_hash: hash, email_verified_at: new Date() }).execute(),
      );
      platformSessions.set(role, await t.login(`matrix-${role}@demo.test`));
    }
  });
  after(() => t?.close());

  const guarded = () =>
    t.running.routes.flatMap((route) =>
      isPermission(route.access)
        ? route.method
            .split(',')
            .filter((method) => method !== 'HEAD' && method !== 'OPTIONS')
            .map((method) => ({ method, url: route.url, permission: route.access as Permission }))
        : [],
    );

  /** Past the guard: anything but 401 and 403 (a missing row, a bad body and success all count). */
  async function status(session: Session, method: string, url: string): Promise<{ code: number; body: string }> {
    const path = url.replace(/:(\w+)/g, (_, name: string) => (name === 'tenantId' ? acme : randomUUID())).replace(/\*$/, 'x');
    const response = await t.app.inject({ method: method as 'GET', url: path, headers: session.headers });
    return { code: response.statusCode, body: response.body };
  }

  test('the matrix is not vacuous: tenant and platform routes, each role allowed somewhere and denied somewhere', () => {
    const routes = guarded();
    assert.ok(routes.some((r) => planeOf(r.permission) === 'tenant') && routes.some((r) => planeOf(r.permission) === 'platform'));
    for (const [role, spec] of Object.entries(DEFAULT_TENANT_ROLES)) {
      const held = new Set<string>(spec.permissions);
      assert.ok(routes.some((r) => held.has(r.permission)), `${role} is allowed nowhere`);
      if (role !== 'owner') assert.ok(routes.some((r) => planeOf(r.permission) === 'tenant' && !held.has(r.permission)), `${role} is denied nowhere`);
    }
  });

  test('tenant routes: each default role passes exactly where its permissions say', async (ctx) => {
    for (const route of guarded().filter((r) => planeOf(r.permission) === 'tenant')) {
      await ctx.test(`${route.method} ${route.url} (${route.permission})`, async () => {
        for (const [role, session] of tenantSessions) {
          const allowed = (DEFAULT_TENANT_ROLES[role].permissions as readonly string[]).includes(route.permission);
          const { code, body } = await status(session, route.method, route.url);
          if (allowed) assert.ok(code !== 401 && code !== 403, `${role} should pass, got ${code} ${body}`);
          else assert.equal(code, 403, `${role} should be refused, got ${code} ${body}`);
        }
      });
    }
  });

  test('platform routes: each platform role passes exactly where its permissions say; tenant users never do', async (ctx) => {
    for (const route of guarded().filter((r) => planeOf(r.permission) === 'platform')) {
      await ctx.test(`${route.method} ${route.url} (${route.permission})`, async () => {
        for (const [role, session] of platformSessions) {
          const allowed = (PLATFORM_ROLES[role].permissions as readonly string[]).includes(route.permission);
          const { code, body } = await status(session, route.method, route.url);
          if (allowed) assert.ok(code !== 401 && code !== 403, `${role} should pass, got ${code} ${body}`);
          else assert.equal(code, 403, `${role} should be refused, got ${code} ${body}`);
        }
        const { code } = await status(tenantSessions.get('owner')!, route.method, route.url);
        assert.equal(code, 403, 'a tenant Owner holds no platform permission');
      });
    }
  });
});
