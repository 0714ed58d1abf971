import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { DEFAULT_TENANT_ROLES, PERMISSION_CATALOG, planeOf, type Permission } from '../../kernel/auth/permissions.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { createLogger } from '../../kernel/log.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';

interface Role {
  id: string;
  key: string | null;
  name: string;
  permissions: string[];
  version: number;
}

const TENANT_PERMISSIONS = (Object.keys(PERMISSION_CATALOG) as Permission[]).filter((p) => planeOf(p) === 'tenant');

describe('access control: catalog, roles, units, scoped assignments (FR-RBAC-001..004, FR-TEN-005)', () => {
  let t: TestPlatform;
  let owner: Session;
  let base: string;
  let acme: string;

  const call = (session: Session, method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url: `${base}${url}`, headers: session.headers, ...(payload ? { payload } : {}) });
  const roles = async () => ((await call(owner, 'GET', '/roles')).json() as { items: Role[] }).items;
  const roleId = async (key: string) => (await roles()).find((role) => role.key === key)!.id;
  const userId = async (email: string) =>
    (await t.db.owner.selectFrom('users').select('id').where('email', '=', email).where('tenant_id', '=', acme).executeTakeFirstOrThrow()).id;

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    base = `/v1/tenants/${acme}`;
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(() => t.close());

  test('the catalog is readable by any signed-in user and matches the code; the app roles cannot change it', async () => {
    const member = await t.login('member@acme.demo.test', 'acme');
    const response = await t.app.inject({ method: 'GET', url: '/v1/permissions', headers: member.headers });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as { version: number; items: { key: string; plane: string; sensitive: boolean }[] };
    assert.deepEqual(body.items.map((item) => item.key).sort(), Object.keys(PERMISSION_CATALOG).sort());
    assert.equal(body.items.find((item) => item.key === 'audit.export')?.sensitive, true);
    for (const attempt of [
      sql`insert into permissions (key, description, plane, catalog_version) values ('evil.grant', 'x', 'tenant', 1)`,
      sql`update permissions set plane = 'tenant' where key = 'platform.tenants.write'`,
      sql`delete from permissions`,
    ]) {
      await assert.rejects(t.db.withWholeTenant(acme, (tx) => attempt.execute(tx)), /permission denied/);
      await assert.rejects(t.db.withPlatform((tx) => attempt.execute(tx)), /permission denied/);
    }
  });

  test('every tenant starts with the five default roles, which cannot be changed or deleted', async () => {
    const list = await roles();
    assert.deepEqual(list.map((role) => role.key).sort(), Object.keys(DEFAULT_TENANT_ROLES).sort());
    const readonly = list.find((role) => role.key === 'readonly')!;
    assert.deepEqual(readonly.permissions.sort(), [...DEFAULT_TENANT_ROLES.readonly.permissions].sort());
    const patch = await call(owner, 'PATCH', `/roles/${readonly.id}`, { name: 'Renamed', version: readonly.version });
    assert.equal(patch.statusCode, 409, patch.body);
    assert.equal(patch.json().type, '/problems/default-role');
    const remove = await call(owner, 'DELETE', `/roles/${readonly.id}`);
    assert.equal(remove.statusCode, 409);
  });

  test('custom roles hold tenant catalog permissions only: unknown and platform permissions are refused by name', async () => {
    for (const permissions of [['customers.read', 'customers.fly'], ['platform.tenants.write']]) {
      const response = await call(owner, 'POST', '/roles', { name: 'Sneaky', permissions });
      assert.equal(response.statusCode, 400, response.body);
      assert.match(response.json().detail, new RegExp(permissions.at(-1)!.replace('.', '\\.')));
    }
    assert.equal((await roles()).some((role) => role.name === 'Sneaky'), false);

    const created = await call(owner, 'POST', '/roles', { name: 'Viewer', description: 'Reads customers', permissions: ['customers.read'] });
    assert.equal(created.statusCode, 201, created.body);
    const role = created.json() as Role;
    const changed = await call(owner, 'PATCH', `/roles/${role.id}`, { permissions: ['customers.read', 'orders.read'], version: role.version });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(changed.json().permissions, ['customers.read', 'orders.read']);
    const stale = await call(owner, 'PATCH', `/roles/${role.id}`, { name: 'Stale', version: role.version });
    assert.equal(stale.statusCode, 409);
    const deleted = await call(owner, 'DELETE', `/roles/${role.id}`);
    assert.equal(deleted.statusCode, 204);
    const audit = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', role.id).orderBy('seq').execute();
    assert.deepEqual(audit.map((event) => event.action), ['role.created', 'role.updated', 'role.deleted']);
  });

  test('a role stored with a permission the catalog no longer has grants nothing for it', async () => {
    const role = (await call(owner, 'POST', '/roles', { name: 'Legacy', permissions: ['customers.read'] })).json() as Role;
    // As if the permission had been renamed in a later catalog: the row keeps the old key.
    await t.db.withWholeTenant(acme, (tx) => tx.updateTable('roles').set({ permissions: ['customers.read', 'customers.delete_everything'] }).where('id', '=', role.id).execute());
    const userIdLegacy = await t.addUser('acme', 'legacy@acme.demo.test', 'readonly');
    await t.db.withWholeTenant(acme, (tx) => tx.deleteFrom('role_assignments').where('user_id', '=', userIdLegacy).execute());
    assert.equal((await call(owner, 'POST', '/role-assignments', { user_id: userIdLegacy, role_id: role.id })).statusCode, 201);
    const legacy = await t.login('legacy@acme.demo.test', 'acme');
    const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: legacy.headers })).json() as { permissions: string[] };
    assert.deepEqual(me.permissions, ['customers.read']);
  });

  test('members cannot manage roles; administrators cannot grant what they do not hold (no path to Owner)', async () => {
    const member = await t.login('member@acme.demo.test', 'acme');
    assert.equal((await call(member, 'POST', '/roles', { name: 'Mine', permissions: ['customers.read'] })).statusCode, 403);

    await t.addUser('acme', 'admin@acme.demo.test', 'admin');
    const admin = await t.login('admin@acme.demo.test', 'acme');
    const memberId = await userId('member@acme.demo.test');
    const toOwner = await call(admin, 'POST', '/role-assignments', { user_id: memberId, role_id: await roleId('owner') });
    assert.equal(toOwner.statusCode, 403, toOwner.body);
    assert.match(toOwner.json().detail, /plan\.manage/);
    const planRole = await call(admin, 'POST', '/roles', { name: 'Planner', permissions: ['plan.manage'] });
    assert.equal(planRole.statusCode, 403, planRole.body);
    const toAuditor = await call(admin, 'POST', '/role-assignments', { user_id: memberId, role_id: await roleId('auditor') });
    assert.equal(toAuditor.statusCode, 201, toAuditor.body);
  });

  test('nobody changes their own role assignments (403 own-role-change), and nothing changes', async () => {
    const ownerId = await userId('owner@acme.demo.test');
    const assignmentsOf = async () => ((await call(owner, 'GET', `/role-assignments?user_id=${ownerId}`)).json() as { items: { id: string }[] }).items;
    const before = await assignmentsOf();
    const attempts = [
      ['POST', '/role-assignments', { user_id: ownerId, role_id: await roleId('auditor') }],
      ['DELETE', `/role-assignments/${before[0]!.id}`, undefined],
    ] as const;
    for (const [method, url, payload] of attempts) {
      const response = await call(owner, method, url, payload);
      assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().type, '/problems/own-role-change');
    }
    assert.deepEqual(await assignmentsOf(), before);
  });

  test('the last Owner cannot lose the Owner role; with a second Owner, one can go', async () => {
    const ownerId = await userId('owner@acme.demo.test');
    const ownerRole = await roleId('owner');
    // Someone else who holds every permission an Owner holds may take the role away.
    const everything = await call(owner, 'POST', '/roles', { name: 'Everything', permissions: TENANT_PERMISSIONS });
    assert.equal(everything.statusCode, 201, everything.body);
    const superId = await t.addUser('acme', 'everything@acme.demo.test', 'member');
    assert.equal((await call(owner, 'POST', '/role-assignments', { user_id: superId, role_id: everything.json().id })).statusCode, 201);
    const superuser = await t.login('everything@acme.demo.test', 'acme');
    const [assignment] = ((await call(owner, 'GET', `/role-assignments?user_id=${ownerId}`)).json() as { items: { id: string; role_id: string }[] }).items;
    const last = await call(superuser, 'DELETE', `/role-assignments/${assignment!.id}`);
    assert.equal(last.statusCode, 409, last.body);
    assert.equal(last.json().type, '/problems/last-owner');

    const second = await t.addUser('acme', 'owner2@acme.demo.test', 'owner');
    const removed = await call(superuser, 'DELETE', `/role-assignments/${assignment!.id}`);
    assert.equal(removed.statusCode, 204, removed.body);
    // The old Owner's grants change at once: it can no longer manage roles.
    assert.equal((await call(owner, 'GET', '/roles')).statusCode, 403);
    const owner2 = await t.login('owner2@acme.demo.test', 'acme');
    const [secondAssignment] = ((await call(owner2, 'GET', `/role-assignments?user_id=${second}`)).json() as { items: { id: string }[] }).items;
    assert.equal((await call(superuser, 'DELETE', `/role-assignments/${secondAssignment!.id}`)).statusCode, 409);
    // Restore the first Owner for the tests after this one.
    assert.equal((await call(owner2, 'POST', '/role-assignments', { user_id: ownerId, role_id: ownerRole })).statusCode, 201);
  });

  test('units: create, nest, refuse cycles, delete only when empty', async () => {
    const parent = (await call(owner, 'POST', '/units', { name: 'West' })).json() as { id: string; version: number };
    const child = (await call(owner, 'POST', '/units', { name: 'West Coast', parent_id: parent.id })).json() as { id: string; version: number };
    const cycle = await call(owner, 'PATCH', `/units/${parent.id}`, { parent_id: child.id, version: parent.version });
    assert.equal(cycle.statusCode, 400, cycle.body);
    const busy = await call(owner, 'DELETE', `/units/${parent.id}`);
    assert.equal(busy.statusCode, 409, 'a unit with a sub-unit stays');
    assert.equal((await call(owner, 'DELETE', `/units/${child.id}`)).statusCode, 204);
    assert.equal((await call(owner, 'DELETE', `/units/${parent.id}`)).statusCode, 204);
  });
});

describe('unit-scoped access is enforced by the database (FR-RBAC-003, FR-TEN-005)', () => {
  let t: TestPlatform;
  let acme: string;
  let north: string;
  let south: string;

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    const units = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('org_units').select(['id', 'name']).execute());
    north = units.find((unit) => unit.name === 'North')!.id;
    south = units.find((unit) => unit.name === 'South')!.id;
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const post = (payload: object) => t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/customers`, headers: owner.headers, payload });
    assert.equal((await post({ name: 'South Only', unit_id: south })).statusCode, 201);
  });
  after(() => t.close());

  test('a Member of unit North lists, reads and writes North only', async () => {
    const session = await t.login('unit@acme.demo.test', 'acme');
    const base = `/v1/tenants/${acme}/customers`;
    const list = (await t.app.inject({ method: 'GET', url: `${base}?limit=200`, headers: session.headers })).json() as { items: { id: string; unit_id: string | null }[] };
    assert.ok(list.items.length > 0, 'the seed puts a customer in North');
    assert.ok(list.items.every((customer) => customer.unit_id === north), JSON.stringify(list.items));

    const southRow = await t.db.owner.selectFrom('customers').select(['id', 'version']).where('unit_id', '=', south).executeTakeFirstOrThrow();
    assert.equal((await t.app.inject({ method: 'GET', url: `${base}/${southRow.id}`, headers: session.headers })).statusCode, 404);
    const patch = await t.app.inject({ method: 'PATCH', url: `${base}/${southRow.id}`, headers: session.headers, payload: { name: 'Taken', version: southRow.version } });
    assert.equal(patch.statusCode, 404);

    const intoSouth = await t.app.inject({ method: 'POST', url: base, headers: session.headers, payload: { name: 'Smuggled', unit_id: south } });
    assert.equal(intoSouth.statusCode, 403, intoSouth.body);
    const tenantWide = await t.app.inject({ method: 'POST', url: base, headers: session.headers, payload: { name: 'Everywhere', unit_id: null } });
    assert.equal(tenantWide.statusCode, 403, tenantWide.body);
    const defaulted = await t.app.inject({ method: 'POST', url: base, headers: session.headers, payload: { name: 'North New' } });
    assert.equal(defaulted.statusCode, 201, defaulted.body);
    assert.equal(defaulted.json().unit_id, north);
    assert.equal(await t.db.owner.selectFrom('customers').select('id').where('name', 'in', ['Smuggled', 'Everywhere']).executeTakeFirst(), undefined);
  });

  test('a query that forgets to filter still sees only the reached units', async () => {
    // A caller of acme whose route's permission reaches these units.
    const reaching = (units: Set<string>): RequestContext => ({
      correlationId: 'units-test',
      ip: null,
      userAgent: null,
      actor: { type: 'system', userId: 'units-test', tenantId: acme, roles: [], sessionId: 'units-test', amr: [], grants: new Map() },
      reach: units,
      log: createLogger('silent'),
    });
    const everything = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('customers').select('unit_id').execute());
    assert.ok(everything.some((row) => row.unit_id === south) && everything.some((row) => row.unit_id === null));
    const northOnly = await t.db.withTenant(reaching(new Set([north])), (tx) => tx.selectFrom('customers').select('unit_id').execute());
    assert.ok(northOnly.length > 0);
    assert.deepEqual([...new Set(northOnly.map((row) => row.unit_id))], [north]);
    const none = await t.db.withTenant(reaching(new Set()), (tx) => tx.selectFrom('customers').select('id').execute());
    assert.deepEqual(none, [], 'no unit reached: no unit-scoped row at all');
    await assert.rejects(
      t.db.withTenant(reaching(new Set([north])), (tx) => tx.updateTable('customers').set({ unit_id: south }).where('unit_id', '=', north).execute()),
      /row-level security/,
    );
  });

  test('a new unit assignment reaches the next request at once (no stale grant)', async () => {
    const session = await t.login('unit@acme.demo.test', 'acme');
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const base = `/v1/tenants/${acme}`;
    const seesSouth = async () =>
      ((await t.app.inject({ method: 'GET', url: `${base}/customers?limit=200`, headers: session.headers })).json() as { items: { unit_id: string }[] }).items.some(
        (customer) => customer.unit_id === south,
      );
    assert.equal(await seesSouth(), false);
    const roles = (await t.app.inject({ method: 'GET', url: `${base}/roles`, headers: owner.headers })).json() as { items: Role[] };
    const userRow = await t.db.owner.selectFrom('users').select('id').where('email', '=', 'unit@acme.demo.test').executeTakeFirstOrThrow();
    const assigned = await t.app.inject({
      method: 'POST',
      url: `${base}/role-assignments`,
      headers: owner.headers,
      payload: { user_id: userRow.id, role_id: roles.items.find((role) => role.key === 'readonly')!.id, unit_id: south },
    });
    assert.equal(assigned.statusCode, 201, assigned.body);
    assert.equal(await seesSouth(), true);
    const southCustomer = await t.db.owner.selectFrom('customers').select(['id', 'version']).where('unit_id', '=', south).executeTakeFirstOrThrow();
    // Read-only in South: it reads there but still cannot write there.
    const write = await t.app.inject({ method: 'PATCH', url: `${base}/customers/${southCustomer.id}`, headers: session.headers, payload: { name: 'No', version: southCustomer.version } });
    assert.equal(write.statusCode, 404, write.body);
  });
});
