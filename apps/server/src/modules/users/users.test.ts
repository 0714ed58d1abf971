import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PERMISSION_CATALOG, planeOf, type DefaultTenantRole, type Permission } from '../../kernel/auth/permissions.ts';
import { assignDefaultRole } from '../access/index.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';

interface UserBody {
  id: string;
  email: string;
  name: string;
  status: 'active' | 'disabled' | 'deleted';
  roles: { assignment_id: string; role_id: string; key: string | null; name: string; unit_id: string | null }[];
  version: number;
  deleted_at: string | null;
}

interface Org {
  id: string;
  slug: string;
  base: string;
  owner: Session;
  ownerId: string;
  roles: Record<string, string>;
}

const TENANT_PERMISSIONS = (Object.keys(PERMISSION_CATALOG) as Permission[]).filter((p) => planeOf(p) === 'tenant');

describe('users of a tenant: list, role change, disable, enable, delete, last Owner, plan (FR-TENANT-002..006)', () => {
  let t: TestPlatform;
  let operator: Session;
  let passwordHash: string;
  let slugs = 0;

  const call = (session: Session, method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers: session.headers, ...(payload ? { payload } : {}) });
  const me = (session: Session) => t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers });
  const loginRaw = (email: string, tenant: string, password = TEST_PASSWORD) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant } });
  const refresh = (session: Session) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: session.refreshToken } });

  /** An organization of its own (the last-Owner rules need to know exactly who the Owners are). */
  async function newOrg(): Promise<Org> {
    const slug = `users-${++slugs}`;
    const created = await call(operator, 'POST', '/v1/platform/tenants', {
      name: `Users ${slugs}`,
      slug,
      region: 'EU',
      owner: { email: `owner@${slug}.example`, name: 'First Owner', password: TEST_PASSWORD },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as string;
    // A new Owner must verify the address first (FR-VER-001); here it counts as done.
    await t.db.owner.updateTable('users').set({ email_verified_at: new Date() }).where('email', '=', `owner@${slug}.example`).execute();
    const owner = await t.login(`owner@${slug}.example`, slug);
    const base = `/v1/tenants/${id}`;
    const roles = Object.fromEntries(((await call(owner, 'GET', `${base}/roles`)).json().items as { id: string; key: string | null; name: string }[]).map((r) => [r.key ?? r.name, r.id]));
    const ownerId = (await me(owner)).json().id as string;
    return { id, slug, base, owner, ownerId, roles };
  }

  async function addUser(org: Org, email: string, role: DefaultTenantRole): Promise<{ id: string; session: Session }> {
    const id = await t.db.withWholeTenant(org.id, async (tx) => {
      const row = await tx.insertInto('users').values({ tenant_id: org.id, email, password_hash: passwordHash, email_verified_at: new Date() }).returning('id').executeTakeFirstOrThrow();
      await assignDefaultRole(tx, org.id, row.id, role);
      return row.id;
    });
    return { id, session: await t.login(email, org.slug) };
  }

  /** A user holding every tenant permission through a custom role: it outranks Owners without being one. */
  async function addSuperuser(org: Org, email: string): Promise<{ id: string; session: Session }> {
    const user = await addUser(org, email, 'member');
    const role = await call(org.owner, 'POST', `${org.base}/roles`, { name: `All of it ${email}`, permissions: TENANT_PERMISSIONS });
    assert.equal(role.statusCode, 201, role.body);
    const changed = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: role.json().id });
    assert.equal(changed.statusCode, 200, changed.body);
    return { id: user.id, session: await t.login(email, org.slug) };
  }

  /** The user lifecycle events recorded about a user, in order. */
  const auditActions = async (tenantId: string, resourceId: string) =>
    (await t.db.owner.selectFrom('audit_events').select('action').where('tenant_id', '=', tenantId).where('resource_id', '=', resourceId).where('action', 'like', 'user.%').orderBy('seq').execute()).map(
      (event) => event.action,
    );

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    operator = await t.login('operator@demo.test');
    passwordHash = await t.running.platform.passwords.hash(TEST_PASSWORD);
  });
  after(() => t.close());

  test('the list shows users with their roles, filters by text, status, role and unit, and pages with a cursor', async () => {
    const org = await newOrg();
    const members: string[] = [];
    for (let i = 0; i < 4; i++) members.push((await addUser(org, `paged-${i}@${org.slug}.example`, 'member')).id);
    const auditor = await addUser(org, `auditor@${org.slug}.example`, 'auditor');
    const unit = (await call(org.owner, 'POST', `${org.base}/units`, { name: 'North' })).json().id as string;
    await call(org.owner, 'PUT', `${org.base}/users/${members[3]}/role`, { role_id: org.roles.member, unit_id: unit });

    const all = await call(org.owner, 'GET', `${org.base}/users?limit=200`);
    assert.equal(all.statusCode, 200, all.body);
    const items = all.json().items as UserBody[];
    assert.equal(items.length, 6);
    const first = items.find((u) => u.id === org.ownerId)!;
    assert.equal(first.email, `owner@${org.slug}.example`);
    assert.equal(first.name, 'First Owner');
    assert.deepEqual(first.roles.map((r) => [r.key, r.name, r.unit_id]), [['owner', 'Owner', null]]);
    assert.ok(first.roles[0]!.assignment_id && first.roles[0]!.role_id === org.roles.owner);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(org.owner, 'GET', `${org.base}/users?limit=2&q=paged${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json() as { items: UserBody[]; next_cursor: string | null };
      assert.ok(body.items.length <= 2);
      seen.push(...body.items.map((u) => u.id));
      cursor = body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, members);

    const byRole = (await call(org.owner, 'GET', `${org.base}/users?role_id=${org.roles.auditor}`)).json().items as UserBody[];
    assert.deepEqual(byRole.map((u) => u.id), [auditor.id]);
    const byUnit = (await call(org.owner, 'GET', `${org.base}/users?unit_id=${unit}`)).json().items as UserBody[];
    assert.deepEqual(byUnit.map((u) => u.id), [members[3]]);
    assert.equal(byUnit[0]!.roles[0]!.unit_id, unit);
    const byName = (await call(org.owner, 'GET', `${org.base}/users?q=FIRST%20own`)).json().items as UserBody[];
    assert.deepEqual(byName.map((u) => u.id), [org.ownerId]);
    const wildcard = (await call(org.owner, 'GET', `${org.base}/users?q=%25`)).json().items as UserBody[];
    assert.deepEqual(wildcard, [], 'a % in q is a literal, not a wildcard');

    await call(org.owner, 'POST', `${org.base}/users/${members[0]}/disable`);
    const disabled = (await call(org.owner, 'GET', `${org.base}/users?status=disabled`)).json().items as UserBody[];
    assert.deepEqual(disabled.map((u) => u.id), [members[0]]);

    const one = await call(org.owner, 'GET', `${org.base}/users/${auditor.id}`);
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json().email, `auditor@${org.slug}.example`);
    assert.equal((await call(org.owner, 'GET', `${org.base}/users/00000000-0000-4000-8000-000000000000`)).statusCode, 404);
    assert.equal((await call(org.owner, 'GET', `${org.base}/users?cursor=garbage`)).statusCode, 400);
    assert.equal((await call(org.owner, 'GET', `${org.base}/users?status=gone`)).statusCode, 400);
  });

  test('a Member reads users but cannot change, disable or delete them (403), and nothing changes', async () => {
    const org = await newOrg();
    const member = await addUser(org, `member@${org.slug}.example`, 'member');
    const other = await addUser(org, `other@${org.slug}.example`, 'member');
    assert.equal((await call(member.session, 'GET', `${org.base}/users`)).statusCode, 200);
    for (const [method, url, payload] of [
      ['PUT', `/users/${other.id}/role`, { role_id: org.roles.admin }],
      ['POST', `/users/${other.id}/disable`],
      ['DELETE', `/users/${other.id}`],
    ] as const) {
      const response = await call(member.session, method, `${org.base}${url}`, payload);
      assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().type, '/problems/forbidden');
    }
    const unchanged = (await call(org.owner, 'GET', `${org.base}/users/${other.id}`)).json() as UserBody;
    assert.equal(unchanged.status, 'active');
    assert.deepEqual(unchanged.roles.map((r) => r.key), ['member']);
    assert.equal((await me(other.session)).statusCode, 200);
  });

  test('a role change replaces every assignment, is audited, and ends the sessions of the user at once', async () => {
    const org = await newOrg();
    const user = await addUser(org, `changing@${org.slug}.example`, 'member');
    const unit = (await call(org.owner, 'POST', `${org.base}/units`, { name: 'South' })).json().id as string;
    const extra = await call(org.owner, 'POST', `${org.base}/role-assignments`, { user_id: user.id, role_id: org.roles.readonly, unit_id: unit });
    assert.equal(extra.statusCode, 201, extra.body);
    const before = (await call(org.owner, 'GET', `${org.base}/users/${user.id}`)).json() as UserBody;
    assert.equal(before.roles.length, 2);
    assert.equal((await me(user.session)).statusCode, 200, 'the session is live (and cached) before the change');

    const changed = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: org.roles.auditor, version: before.version });
    assert.equal(changed.statusCode, 200, changed.body);
    const after = changed.json() as UserBody;
    assert.deepEqual(after.roles.map((r) => [r.key, r.unit_id]), [['auditor', null]]);
    assert.equal(after.version, before.version + 1);

    assert.equal((await me(user.session)).statusCode, 401, 'the old session ended');
    assert.equal((await refresh(user.session)).statusCode, 401, 'its refresh token too');
    const again = await t.login(`changing@${org.slug}.example`, org.slug);
    const profile = (await me(again)).json();
    assert.deepEqual(profile.roles, ['auditor']);
    assert.ok(profile.permissions.includes('audit.read') && !profile.permissions.includes('customers.read'));

    const revoked = await t.db.owner.selectFrom('sessions').select(['status', 'revoked_reason']).where('user_id', '=', user.id).orderBy('created_at').execute();
    assert.deepEqual(revoked[0], { status: 'revoked', revoked_reason: 'role_changed' });
    assert.ok((await auditActions(org.id, user.id)).includes('user.role_changed'));

    const stale = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: org.roles.member, version: before.version });
    assert.equal(stale.statusCode, 409, stale.body);
    assert.equal(stale.json().type, '/problems/version-conflict');
    const unknownRole = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknownRole.statusCode, 400, unknownRole.body);
    const unknownUnit = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: org.roles.member, unit_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknownUnit.statusCode, 400, unknownUnit.body);
    const unknownUser = await call(org.owner, 'PUT', `${org.base}/users/00000000-0000-4000-8000-000000000000/role`, { role_id: org.roles.member });
    assert.equal(unknownUser.statusCode, 404);
    assert.equal((await me(again)).statusCode, 200, 'refused changes end nothing');
    const unit2 = await call(org.owner, 'PUT', `${org.base}/users/${user.id}/role`, { role_id: org.roles.member, unit_id: unit });
    assert.equal(unit2.statusCode, 200, unit2.body);
    assert.deepEqual((unit2.json() as UserBody).roles.map((r) => [r.key, r.unit_id]), [['member', unit]]);
  });

  test('an Administrator cannot demote, disable or delete an Owner, nor make anyone an Owner (403)', async () => {
    const org = await newOrg();
    const admin = await addUser(org, `admin@${org.slug}.example`, 'admin');
    const member = await addUser(org, `member@${org.slug}.example`, 'member');
    const secondOwner = await addUser(org, `owner2@${org.slug}.example`, 'owner');
    for (const [method, url, payload] of [
      ['PUT', `/users/${secondOwner.id}/role`, { role_id: org.roles.member }],
      ['POST', `/users/${secondOwner.id}/disable`],
      ['DELETE', `/users/${secondOwner.id}`],
      ['PUT', `/users/${member.id}/role`, { role_id: org.roles.owner }],
    ] as const) {
      const response = await call(admin.session, method, `${org.base}${url}`, payload);
      assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().type, '/problems/forbidden');
    }
    assert.equal((await me(secondOwner.session)).statusCode, 200);
    assert.deepEqual(((await call(org.owner, 'GET', `${org.base}/users/${member.id}`)).json() as UserBody).roles.map((r) => r.key), ['member']);
    // What an Administrator holds, it may give and take away.
    const promoted = await call(admin.session, 'PUT', `${org.base}/users/${member.id}/role`, { role_id: org.roles.auditor });
    assert.equal(promoted.statusCode, 200, promoted.body);
  });

  test('the last Owner cannot be downgraded, disabled or deleted (409 last-owner); a disabled Owner does not count', async () => {
    const org = await newOrg();
    const superuser = await addSuperuser(org, `super@${org.slug}.example`);

    for (const [method, url, payload] of [
      ['PUT', `/users/${org.ownerId}/role`, { role_id: org.roles.admin }],
      ['PUT', `/users/${org.ownerId}/role`, { role_id: org.roles.owner, unit_id: (await call(org.owner, 'POST', `${org.base}/units`, { name: 'Only here' })).json().id }],
      ['POST', `/users/${org.ownerId}/disable`],
      ['DELETE', `/users/${org.ownerId}`],
    ] as const) {
      const response = await call(superuser.session, method, `${org.base}${url}`, payload);
      assert.equal(response.statusCode, 409, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().type, '/problems/last-owner');
    }
    const owner = (await call(org.owner, 'GET', `${org.base}/users/${org.ownerId}`)).json() as UserBody;
    assert.equal(owner.status, 'active');
    assert.deepEqual(owner.roles.map((r) => [r.key, r.unit_id]), [['owner', null]]);
    assert.equal((await me(org.owner)).statusCode, 200, 'the refused changes ended no session');

    // With a second Owner the first may go; once the second is disabled, the first is the last again.
    const second = await addUser(org, `owner2@${org.slug}.example`, 'owner');
    const disabled = await call(org.owner, 'POST', `${org.base}/users/${second.id}/disable`);
    assert.equal(disabled.statusCode, 200, disabled.body);
    const refused = await call(superuser.session, 'POST', `${org.base}/users/${org.ownerId}/disable`);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal((await call(org.owner, 'POST', `${org.base}/users/${second.id}/enable`)).statusCode, 200);
    const demoted = await call(superuser.session, 'PUT', `${org.base}/users/${org.ownerId}/role`, { role_id: org.roles.admin });
    assert.equal(demoted.statusCode, 200, demoted.body);
  });

  test('nobody changes their own role (403 own-role-change): not an Owner, not someone holding every permission', async () => {
    const org = await newOrg();
    await addUser(org, `owner2@${org.slug}.example`, 'owner');
    const superuser = await addSuperuser(org, `super@${org.slug}.example`);
    for (const [who, id, role] of [
      [org.owner, org.ownerId, org.roles.admin],
      [org.owner, org.ownerId, org.roles.owner],
      [superuser.session, superuser.id, org.roles.owner],
    ] as const) {
      const response = await call(who, 'PUT', `${org.base}/users/${id}/role`, { role_id: role });
      assert.equal(response.statusCode, 403, response.body);
      assert.equal(response.json().type, '/problems/own-role-change');
    }
    const owner = (await call(org.owner, 'GET', `${org.base}/users/${org.ownerId}`)).json() as UserBody;
    assert.deepEqual(owner.roles.map((r) => [r.key, r.unit_id]), [['owner', null]]);
    assert.equal((await me(org.owner)).statusCode, 200, 'the refused change ended no session');
    assert.ok(!(await auditActions(org.id, org.ownerId)).includes('user.role_changed'));
    assert.equal((await auditActions(org.id, superuser.id)).filter((action) => action === 'user.role_changed').length, 1, 'only the change that made the superuser');
  });

  test('two concurrent removals of the two last Owners: exactly one succeeds', async () => {
    const org = await newOrg();
    const superuser = await addSuperuser(org, `super@${org.slug}.example`);
    const second = await addUser(org, `owner2@${org.slug}.example`, 'owner');
    const [a, b] = await Promise.all([
      call(superuser.session, 'POST', `${org.base}/users/${org.ownerId}/disable`),
      call(superuser.session, 'DELETE', `${org.base}/users/${second.id}`),
    ]);
    const codes = [a.statusCode, b.statusCode];
    assert.equal(codes.filter((code) => code === 200 || code === 204).length, 1, `${a.body} ${b.body}`);
    assert.equal(codes.filter((code) => code === 409).length, 1, `${a.body} ${b.body}`);
    assert.equal([a, b].find((r) => r.statusCode === 409)!.json().type, '/problems/last-owner');
    const owners = await t.db.owner
      .selectFrom('role_assignments as a')
      .innerJoin('roles as r', (join) => join.onRef('r.tenant_id', '=', 'a.tenant_id').onRef('r.id', '=', 'a.role_id'))
      .innerJoin('users as u', (join) => join.onRef('u.tenant_id', '=', 'a.tenant_id').onRef('u.id', '=', 'a.user_id'))
      .select('u.id')
      .where('a.tenant_id', '=', org.id)
      .where('r.key', '=', 'owner')
      .where('u.status', '=', 'active')
      .execute();
    assert.equal(owners.length, 1, 'one active Owner remains');
  });

  test('disable ends every session and refuses sign-in like a wrong password; enable restores sign-in; nobody disables themselves', async () => {
    const org = await newOrg();
    const user = await addUser(org, `disabled@${org.slug}.example`, 'member');
    const secondSession = await t.login(`disabled@${org.slug}.example`, org.slug);
    assert.equal((await me(user.session)).statusCode, 200);

    const disabled = await call(org.owner, 'POST', `${org.base}/users/${user.id}/disable`);
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal(disabled.json().status, 'disabled');
    for (const session of [user.session, secondSession]) {
      assert.equal((await me(session)).statusCode, 401);
      assert.equal((await refresh(session)).statusCode, 401);
    }
    const refused = await loginRaw(`disabled@${org.slug}.example`, org.slug);
    const wrongPassword = await loginRaw(`owner@${org.slug}.example`, org.slug, 'Wrong-Passw0rd!!');
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().type, wrongPassword.json().type);
    assert.equal(refused.json().detail, wrongPassword.json().detail);

    const again = await call(org.owner, 'POST', `${org.base}/users/${user.id}/disable`);
    assert.equal(again.statusCode, 200, 'disabling a disabled user changes nothing');
    assert.equal(again.json().version, disabled.json().version);

    const enabled = await call(org.owner, 'POST', `${org.base}/users/${user.id}/enable`);
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().status, 'active');
    assert.equal((await me(await t.login(`disabled@${org.slug}.example`, org.slug))).statusCode, 200);
    assert.equal((await me(user.session)).statusCode, 401, 'sessions ended by disabling stay ended');

    const self = await call(org.owner, 'POST', `${org.base}/users/${org.ownerId}/disable`);
    assert.equal(self.statusCode, 409, self.body);
    assert.equal(self.json().type, '/problems/conflict');
    assert.deepEqual(await auditActions(org.id, user.id), ['user.disabled', 'user.enabled']);
  });

  test('delete is soft: sessions end, sign-in fails, the row stays marked deleted, and the address is free again', async () => {
    const org = await newOrg();
    const email = `leaving@${org.slug}.example`;
    const user = await addUser(org, email, 'member');
    const before = (await call(org.owner, 'GET', `${org.base}/users/${user.id}`)).json() as UserBody;

    const stale = await call(org.owner, 'DELETE', `${org.base}/users/${user.id}?version=${before.version + 5}`);
    assert.equal(stale.statusCode, 409, stale.body);
    const removed = await call(org.owner, 'DELETE', `${org.base}/users/${user.id}?version=${before.version}`);
    assert.equal(removed.statusCode, 204, removed.body);
    assert.equal((await me(user.session)).statusCode, 401);
    assert.equal((await refresh(user.session)).statusCode, 401);
    const login = await loginRaw(email, org.slug);
    assert.equal(login.statusCode, 401);
    assert.equal(login.json().type, '/problems/invalid-credentials');

    assert.equal((await call(org.owner, 'GET', `${org.base}/users/${user.id}`)).statusCode, 404);
    assert.equal((await call(org.owner, 'DELETE', `${org.base}/users/${user.id}`)).statusCode, 404, 'deleting twice finds nothing');
    assert.equal((await call(org.owner, 'POST', `${org.base}/users/${user.id}/enable`)).statusCode, 404, 'a deleted user cannot come back');
    const listed = (await call(org.owner, 'GET', `${org.base}/users?limit=200`)).json().items as UserBody[];
    assert.ok(!listed.some((u) => u.id === user.id), 'deleted users are not listed by default');
    const deleted = (await call(org.owner, 'GET', `${org.base}/users?status=deleted`)).json().items as UserBody[];
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.email, email, 'the list names the address it had');
    assert.deepEqual(deleted[0]!.roles, [], 'its assignments are gone');
    assert.ok(deleted[0]!.deleted_at);

    const row = await t.db.owner.selectFrom('users').select(['email', 'deleted_email', 'password_hash', 'status']).where('id', '=', user.id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { email: `deleted-${user.id}@deleted.invalid`, deleted_email: email, password_hash: null, status: 'deleted' });
    const invited = await call(org.owner, 'POST', `${org.base}/invitations`, { email, role_id: org.roles.member });
    assert.equal(invited.statusCode, 201, `the address can be invited again: ${invited.body}`);

    assert.equal((await call(org.owner, 'DELETE', `${org.base}/users/${org.ownerId}`)).statusCode, 409, 'nobody deletes themselves');
    assert.deepEqual(await auditActions(org.id, user.id), ['user.deleted']);
  });

  test('users.manage held in one unit only is not enough to manage users (403)', async () => {
    const org = await newOrg();
    const target = await addUser(org, `target@${org.slug}.example`, 'readonly');
    const manager = await addUser(org, `unit-manager@${org.slug}.example`, 'readonly');
    const unit = (await call(org.owner, 'POST', `${org.base}/units`, { name: 'East' })).json().id as string;
    const role = (await call(org.owner, 'POST', `${org.base}/roles`, { name: 'Unit user manager', permissions: ['users.read', 'users.manage', 'users.invite'] })).json().id;
    assert.equal((await call(org.owner, 'POST', `${org.base}/role-assignments`, { user_id: manager.id, role_id: role, unit_id: unit })).statusCode, 201);
    const session = await t.login(`unit-manager@${org.slug}.example`, org.slug);
    const response = await call(session, 'POST', `${org.base}/users/${target.id}/disable`);
    assert.equal(response.statusCode, 403, response.body);
    const invite = await call(session, 'POST', `${org.base}/invitations`, { email: `x@${org.slug}.example`, role_id: org.roles.readonly, unit_id: unit });
    assert.equal(invite.statusCode, 403, invite.body);
  });

  test('only Owners change the plan: an Administrator gets 403, the Owner changes it, audited in both chains (FR-TENANT-003)', async () => {
    const org = await newOrg();
    const admin = await addUser(org, `admin@${org.slug}.example`, 'admin');
    const denied = await call(admin.session, 'PUT', `${org.base}/plan`, { plan: 'enterprise' });
    assert.equal(denied.statusCode, 403, denied.body);
    assert.equal(denied.json().type, '/problems/forbidden');
    const read = async () => (await t.db.owner.selectFrom('tenants').select(['plan', 'version']).where('id', '=', org.id).executeTakeFirstOrThrow());
    assert.equal((await read()).plan, 'standard');

    const changed = await call(org.owner, 'PUT', `${org.base}/plan`, { plan: 'enterprise' });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.json().plan, 'enterprise');
    assert.equal((await read()).plan, 'enterprise');
    const events = await t.db.owner.selectFrom('audit_events').select(['tenant_id', 'actor_id', 'metadata']).where('action', '=', 'tenant.plan_changed').where('resource_id', '=', org.id).execute();
    assert.equal(events.length, 2);
    assert.ok(events.some((e) => e.tenant_id === null) && events.some((e) => e.tenant_id === org.id), 'in the platform chain and the tenant chain');
    assert.ok(events.every((e) => e.actor_id === org.ownerId));
    assert.deepEqual(events[0]!.metadata, { from: 'standard', to: 'enterprise' });

    const bad = await call(org.owner, 'PUT', `${org.base}/plan`, { plan: 'Not A Plan!' });
    assert.equal(bad.statusCode, 400);
    const other = await call(org.owner, 'PUT', `/v1/tenants/${t.tenants.acme!.id}/plan`, { plan: 'free' });
    assert.equal(other.statusCode, 403, 'another organization is out of reach');
    assert.equal((await t.db.owner.selectFrom('tenants').select('plan').where('id', '=', t.tenants.acme!.id).executeTakeFirstOrThrow()).plan, 'standard');
  });
});
