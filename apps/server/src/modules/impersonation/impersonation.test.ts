import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { loadConfig } from '../../kernel/config.ts';
import { DEMO_OPERATOR } from '../../seed.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';

const URL = '/v1/platform/impersonations';
const REASON = 'Customer reports the order list is empty (ticket 4711)';

interface Started {
  access_token: string;
  token_type: string;
  expires_at: string;
  session_id: string;
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Platform staff with a platform role, created as the platform role would (no API creates staff). */
async function addStaff(t: TestPlatform, email: string, role: 'support' | 'auditor' | 'operator'): Promise<string> {
  const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
  return t.db.withPlatform(async (tx) => {
    const { id } = await tx.insertInto('users').values({ tenant_id: null, email, platform_role: role, password_hash: hash, email_verified_at: new Date() }).returning('id').executeTakeFirstOrThrow();
    return id;
  });
}

async function userId(t: TestPlatform, email: string): Promise<string> {
  return (await t.db.owner.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
}

describe('impersonation with safeguards (FR-RBAC-005)', () => {
  let t: TestPlatform;
  let acme: string;
  let support: Session;
  let supportId: string;
  let operator: Session;
  let operatorId: string;
  let memberId: string;

  const start = (session: { headers: { authorization: string } }, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: URL, headers: session.headers, payload });

  /** Events of a chain, newest last, as the database holds them. */
  const eventsOf = (chain: string, action: string) =>
    t.db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chain).where('action', '=', action).orderBy('seq').execute();

  before(async () => {
    // SUPER_ADMIN_EMAILS outside staging is ignored: the operator below stays a plain Operator.
    t = await buildTestPlatform({ SUPER_ADMIN_EMAILS: DEMO_OPERATOR });
    acme = t.tenants.acme!.id;
    supportId = await addStaff(t, 'support@platform.test', 'support');
    support = await t.login('support@platform.test');
    operator = await t.login(DEMO_OPERATOR);
    operatorId = await userId(t, DEMO_OPERATOR);
    memberId = await userId(t, 'member@acme.demo.test');
  });
  after(() => t.close());

  test('SUPER_ADMIN_EMAILS outside staging elevates nobody (FR-RBAC-006)', async () => {
    assert.equal(t.config.superAdminEmailsIgnored, true);
    const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: operator.headers })).json() as { roles: string[]; permissions: string[] };
    assert.deepEqual(me.roles, ['operator']);
    assert.ok(!me.permissions.includes('platform.impersonate'));
    assert.deepEqual(claimsOf(operator.accessToken).roles, ['operator']);
    const sessions = await t.db.owner.selectFrom('sessions').select('elevated_role').where('tenant_id', 'is', null).execute();
    assert.ok(sessions.length > 0 && sessions.every((s) => s.elevated_role === null));
    assert.deepEqual(await t.db.owner.selectFrom('audit_events').select('id').where('action', 'like', 'security.super_admin%').execute(), []);
  });

  test('Support acts as a member for 30 minutes: the token names both identities, no refresh token, /v1/me shows the banner', async () => {
    const before = Date.now();
    const response = await start(support, { tenant_id: acme, user_id: memberId, reason: REASON, ticket_id: 'SUP-4711' });
    assert.equal(response.statusCode, 201, response.body);
    const started = response.json() as Started & { refresh_token?: string };
    assert.equal(started.token_type, 'Bearer');
    assert.equal(started.refresh_token, undefined);
    const expiresAt = Date.parse(started.expires_at);
    assert.ok(expiresAt > before + 29 * 60_000 && expiresAt <= Date.now() + 30 * 60_000, started.expires_at);

    const claims = claimsOf(started.access_token);
    assert.equal(claims.sub, memberId);
    assert.equal(claims.tenant_id, acme);
    assert.equal(claims.sid, started.session_id);
    assert.deepEqual(claims.act, { sub: supportId });
    assert.ok((claims.exp as number) * 1000 <= expiresAt, 'the token ends with the session');

    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(started.access_token) });
    assert.equal(me.statusCode, 200, me.body);
    const body = me.json();
    assert.equal(body.id, memberId);
    assert.deepEqual(body.impersonator, { id: supportId, email: 'support@platform.test' });
    assert.equal(body.impersonation_expires_at, new Date(expiresAt).toISOString());
    assert.ok(body.permissions.includes('customers.write') && !body.permissions.includes('platform.impersonate'), 'the member\'s permissions, not Support\'s');

    const own = await t.app.inject({ method: 'GET', url: '/v1/me', headers: support.headers });
    assert.equal(own.json().impersonator, null);
    assert.equal(own.json().impersonation_expires_at, null);

    const session = await t.db.owner.selectFrom('sessions').selectAll().where('id', '=', started.session_id).executeTakeFirstOrThrow();
    assert.deepEqual([session.tenant_id, session.user_id, session.impersonator_id, session.impersonation_reason], [acme, memberId, supportId, REASON]);
    const refreshTokens = await t.db.owner.selectFrom('refresh_tokens').select('id').where('session_id', '=', started.session_id).execute();
    assert.deepEqual(refreshTokens, [], 'an impersonation session has no refresh token');
  });

  test('bad input is a 400 that starts nothing: no reason, a short or blank reason, a bad ticket', async () => {
    const count = async () => (await t.db.owner.selectFrom('impersonations').select('id').execute()).length;
    const sessions = async () => (await t.db.owner.selectFrom('sessions').select('id').where('impersonator_id', 'is not', null).execute()).length;
    const [impersonations, impersonationSessions] = [await count(), await sessions()];
    for (const payload of [
      { tenant_id: acme, user_id: memberId },
      { tenant_id: acme, user_id: memberId, reason: 'too short' },
      { tenant_id: acme, user_id: memberId, reason: '             ' },
      { tenant_id: acme, user_id: memberId, reason: REASON, ticket_id: '<script>' },
      { tenant_id: 'acme', user_id: memberId, reason: REASON },
    ]) {
      const response = await start(support, payload);
      assert.equal(response.statusCode, 400, `${JSON.stringify(payload)}: ${response.body}`);
      assert.equal(response.json().type, '/problems/validation');
    }
    assert.equal(await count(), impersonations);
    assert.equal(await sessions(), impersonationSessions);
  });

  test('only holders of platform.impersonate: an Operator and a tenant Owner are refused with 403', async () => {
    const byOperator = await start(operator, { tenant_id: acme, user_id: memberId, reason: REASON });
    assert.equal(byOperator.statusCode, 403, byOperator.body);
    assert.equal(byOperator.json().type, '/problems/forbidden');
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const byOwner = await start(owner, { tenant_id: acme, user_id: memberId, reason: REASON });
    assert.equal(byOwner.statusCode, 403, byOwner.body);
  });

  test('platform staff cannot be impersonated (own id, the Operator, any tenant named); the attempt is a security event', async () => {
    for (const [tenantId, target] of [
      [acme, supportId],
      [acme, operatorId],
      [t.tenants.globex!.id, operatorId],
    ] as const) {
      const response = await start(support, { tenant_id: tenantId, user_id: target, reason: REASON });
      assert.equal(response.statusCode, 403, response.body);
      assert.equal(response.json().type, '/problems/cannot-impersonate-staff');
    }
    const refused = (await eventsOf(PLATFORM_CHAIN, 'impersonation.started')).filter((e) => e.outcome === 'denied');
    assert.equal(refused.length, 3);
    assert.ok(refused.every((e) => e.category === 'security' && e.actor_id === supportId && e.metadata.refused === 'target_is_platform_staff'));
    assert.deepEqual(await t.db.owner.selectFrom('sessions').select('id').where('impersonator_id', 'is not', null).where('user_id', 'in', [supportId, operatorId]).execute(), []);
  });

  test('a user of another organization, an unknown user or organization is a 404', async () => {
    const globexMember = await userId(t, 'member@globex.demo.test');
    for (const payload of [
      { tenant_id: acme, user_id: globexMember, reason: REASON },
      { tenant_id: acme, user_id: randomUUID(), reason: REASON },
      { tenant_id: randomUUID(), user_id: memberId, reason: REASON },
    ]) {
      const response = await start(support, payload);
      assert.equal(response.statusCode, 404, response.body);
    }
  });

  test('every request in the session is audited with both identities, reads included; state changes carry the impersonator too', async () => {
    const targetId = await t.addUser('acme', 'audited@acme.demo.test', 'member');
    const started = (await start(support, { tenant_id: acme, user_id: targetId, reason: REASON })).json() as Started;
    const headers = bearer(started.access_token);
    const read = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/customers`, headers });
    assert.equal(read.statusCode, 200, read.body);
    const created = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/customers`, headers, payload: { name: 'Made while impersonating' } });
    assert.equal(created.statusCode, 201, created.body);
    const denied = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/audit-events`, headers });
    assert.equal(denied.statusCode, 403, 'a member may not read the audit log, impersonated or not');

    const requests = (await eventsOf(acme, 'impersonation.request')).filter((e) => e.actor_id === targetId);
    assert.deepEqual(
      requests.map((e) => [e.metadata.method, e.metadata.route, e.metadata.status, e.outcome]),
      [
        ['GET', '/v1/tenants/:tenantId/customers', 200, 'success'],
        ['POST', '/v1/tenants/:tenantId/customers', 201, 'success'],
        ['GET', '/v1/tenants/:tenantId/audit-events', 403, 'denied'],
      ],
    );
    assert.ok(requests.every((e) => e.impersonator_id === supportId && e.impersonation_reason === REASON && e.actor_type === 'user'));
    const [change] = await t.db.owner.selectFrom('audit_events').selectAll().where('resource_id', '=', created.json().id).execute();
    assert.deepEqual([change!.action, change!.actor_id, change!.impersonator_id, change!.impersonation_reason], ['customer.created', targetId, supportId, REASON]);

    // Requests of everyone else stay as they were: no impersonator, no request event.
    const owner = await t.login('owner@acme.demo.test', 'acme');
    await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/customers`, headers: owner.headers });
    const ownerId = await userId(t, 'owner@acme.demo.test');
    assert.deepEqual((await eventsOf(acme, 'impersonation.request')).filter((e) => e.actor_id === ownerId), []);
    const ownerEvents = await t.db.owner.selectFrom('audit_events').select('impersonator_id').where('actor_id', '=', ownerId).execute();
    assert.ok(ownerEvents.length > 0 && ownerEvents.every((e) => e.impersonator_id === null));

    // Events with and without the impersonator keep every chain verifiable.
    const report = await t.verifyAudit();
    assert.deepEqual(report.breaks, []);
  });

  test('acme\'s administrators see impersonation.started in their own audit chain, with reason and ticket', async () => {
    const seen = await t.db.withWholeTenant(acme, (tx) =>
      tx.selectFrom('audit_events').selectAll().where('action', '=', 'impersonation.started').where('outcome', '=', 'success').orderBy('seq').execute(),
    );
    const first = seen[0]!;
    assert.equal(first.tenant_id, acme);
    assert.equal(first.severity, 'high');
    assert.equal(first.actor_id, supportId);
    assert.equal(first.resource_id, memberId);
    assert.deepEqual([first.metadata.reason, first.metadata.ticket_id], [REASON, 'SUP-4711']);
    const platformCopy = (await eventsOf(PLATFORM_CHAIN, 'impersonation.started')).find((e) => e.metadata.session_id === first.metadata.session_id);
    assert.ok(platformCopy && platformCopy.severity === 'high' && platformCopy.outcome === 'success', 'recorded in the platform chain as well');

    const owner = await t.login('owner@acme.demo.test', 'acme');
    const search = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/audit-events?action=impersonation.started`, headers: owner.headers });
    assert.equal(search.statusCode, 200, search.body);
    assert.ok((search.json().items as { actor_id: string }[]).some((e) => e.actor_id === supportId));
  });

  test('not renewable: refresh refuses the session, a second start for the same user is a 409, nested starts are refused', async () => {
    const targetId = await t.addUser('acme', 'renew@acme.demo.test', 'member');
    const started = (await start(support, { tenant_id: acme, user_id: targetId, reason: REASON })).json() as Started;

    // Even a refresh token planted for the session is refused.
    const secret = 'p'.repeat(43);
    await t.db.owner
      .insertInto('refresh_tokens')
      .values({ tenant_id: acme, session_id: started.session_id, token_hash: createHash('sha256').update(secret).digest('hex'), expires_at: new Date(Date.now() + 60_000) })
      .execute();
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: `${acme}.${secret}` } });
    assert.equal(refreshed.statusCode, 401, refreshed.body);

    const again = await start(support, { tenant_id: acme, user_id: targetId, reason: REASON });
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().type, '/problems/impersonation-active');
    assert.equal(again.json().impersonation_id, started.session_id);

    // The impersonation token is a tenant token: it cannot start another impersonation.
    const nested = await start({ headers: bearer(started.access_token) }, { tenant_id: acme, user_id: memberId, reason: REASON });
    assert.equal(nested.statusCode, 403, nested.body);
  });

  test('the session is used only with a token naming its impersonator in act; act on any other session is refused', async () => {
    const { tokens } = t.running.platform;
    const targetId = await t.addUser('acme', 'act@acme.demo.test', 'member');
    const started = (await start(support, { tenant_id: acme, user_id: targetId, reason: REASON })).json() as Started;
    const base = { sub: targetId, tenant_id: acme, roles: ['member'], sid: started.session_id, amr: ['pwd'] };
    const url = `/v1/tenants/${acme}/customers`;
    for (const forged of [await tokens.issue(base), await tokens.issue({ ...base, act: { sub: operatorId } })]) {
      const response = await t.app.inject({ method: 'GET', url, headers: bearer(forged.token) });
      assert.equal(response.statusCode, 401, response.body);
    }
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const ownerClaims = claimsOf(owner.accessToken) as { sub: string; sid: string; roles: string[] };
    const withAct = await tokens.issue({ sub: ownerClaims.sub, tenant_id: acme, roles: ownerClaims.roles, sid: ownerClaims.sid, amr: ['pwd'], act: { sub: supportId } });
    assert.equal((await t.app.inject({ method: 'GET', url, headers: bearer(withAct.token) })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url, headers: bearer(started.access_token) })).statusCode, 200);
  });

  test('after its 30 minutes the session is dead', async () => {
    const targetId = await t.addUser('acme', 'expiry@acme.demo.test', 'member');
    const started = (await start(support, { tenant_id: acme, user_id: targetId, reason: REASON })).json() as Started;
    const headers = bearer(started.access_token);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers })).statusCode, 200);
    const ended = new Date(Date.now() - 1000);
    await t.db.owner.updateTable('sessions').set({ expires_at: ended }).where('id', '=', started.session_id).execute();
    t.running.platform.sessions.apply({ kind: 'all' });
    const late = await t.app.inject({ method: 'GET', url: '/v1/me', headers });
    assert.equal(late.statusCode, 401, late.body);
  });

  test('Support ends it at once (DELETE), audited in both chains; the list tells active, ended and signed-out ones apart', async () => {
    const targetId = await t.addUser('acme', 'ended@acme.demo.test', 'member');
    const started = (await start(support, { tenant_id: acme, user_id: targetId, reason: REASON })).json() as Started;
    const headers = bearer(started.access_token);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers })).statusCode, 200, 'cached as active');

    const byOperator = await t.app.inject({ method: 'DELETE', url: `${URL}/${started.session_id}`, headers: operator.headers });
    assert.equal(byOperator.statusCode, 403);
    const removed = await t.app.inject({ method: 'DELETE', url: `${URL}/${started.session_id}`, headers: support.headers });
    assert.equal(removed.statusCode, 204, removed.body);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${URL}/${started.session_id}`, headers: support.headers })).statusCode, 204, 'ending it again changes nothing');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${URL}/${randomUUID()}`, headers: support.headers })).statusCode, 404);
    for (const chain of [PLATFORM_CHAIN, acme]) {
      const ends = (await eventsOf(chain, 'impersonation.ended')).filter((e) => e.metadata.session_id === started.session_id);
      assert.equal(ends.length, 1, `one impersonation.ended in chain ${chain}`);
      assert.equal(ends[0]!.actor_id, supportId);
    }

    // Signing out from the impersonation session ends it as well.
    const signedOutUser = await t.addUser('acme', 'signout@acme.demo.test', 'member');
    const signedOut = (await start(support, { tenant_id: acme, user_id: signedOutUser, reason: REASON })).json() as Started;
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(signedOut.access_token) })).statusCode, 204);
    const liveUser = await t.addUser('acme', 'live@acme.demo.test', 'member');
    const live = (await start(support, { tenant_id: acme, user_id: liveUser, reason: REASON })).json() as Started;

    const listed = await t.app.inject({ method: 'GET', url: `${URL}?limit=200&tenant_id=${acme}`, headers: support.headers });
    assert.equal(listed.statusCode, 200, listed.body);
    const byId = new Map((listed.json().items as { id: string; status: string; ended_by: string | null; reason: string; impersonator_email: string }[]).map((i) => [i.id, i]));
    assert.deepEqual([byId.get(started.session_id)?.status, byId.get(started.session_id)?.ended_by], ['ended', supportId]);
    assert.deepEqual([byId.get(signedOut.session_id)?.status, byId.get(signedOut.session_id)?.ended_by], ['ended', null]);
    assert.equal(byId.get(live.session_id)?.status, 'active');
    assert.equal(byId.get(live.session_id)?.impersonator_email, 'support@platform.test');
    assert.equal((await t.app.inject({ method: 'GET', url: URL, headers: operator.headers })).statusCode, 403);

    // Newest first, every row once across pages.
    const seen: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page = await t.app.inject({ method: 'GET', url: `${URL}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: support.headers });
      const body = page.json() as { items: { id: string }[]; next_cursor: string | null };
      seen.push(...body.items.map((i) => i.id));
      cursor = body.next_cursor;
    }
    const stored = await t.db.owner.selectFrom('impersonations').select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    assert.deepEqual(seen, stored.map((row) => row.id));
  });
});

describe('Platform Super Admin (FR-RBAC-006)', () => {
  test('SUPER_ADMIN_EMAILS is honoured only when ENVIRONMENT=staging', () => {
    const base = { DATA_DIR: '/tmp/unused', SUPER_ADMIN_EMAILS: ' Root@Example.test, second@example.test ' };
    assert.deepEqual(loadConfig({ ...base, ENVIRONMENT: 'staging' }).superAdminEmails, ['root@example.test', 'second@example.test']);
    for (const environment of ['development', 'test']) {
      const config = loadConfig({ ...base, ENVIRONMENT: environment });
      assert.deepEqual([config.superAdminEmails, config.superAdminEmailsIgnored], [[], true]);
    }
    assert.throws(() => loadConfig({ ENVIRONMENT: 'staging', SUPER_ADMIN_EMAILS: 'not-an-address' }), /SUPER_ADMIN_EMAILS/);
  });

  describe('in staging', () => {
    let t: TestPlatform;
    before(async () => {
      t = await buildTestPlatform({ ENVIRONMENT: 'staging', SUPER_ADMIN_EMAILS: DEMO_OPERATOR, RATE_LIMIT_ENABLED: 'false' });
    });
    after(() => t.close());

    test('an allow-listed operator\'s session is Super Admin; the grant and every request are high-severity events; the user stays an Operator', async () => {
      const operator = await t.login(DEMO_OPERATOR);
      const operatorId = await userId(t, DEMO_OPERATOR);
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: operator.headers });
      const body = me.json() as { roles: string[]; permissions: string[] };
      assert.ok(body.permissions.includes('platform.impersonate') && body.permissions.includes('platform.audit.export'), body.permissions.join());
      assert.deepEqual(claimsOf(operator.accessToken).roles, ['operator', 'super_admin']);

      const user = await t.db.owner.selectFrom('users').select('platform_role').where('id', '=', operatorId).executeTakeFirstOrThrow();
      assert.equal(user.platform_role, 'operator', 'never stored on the user');
      const session = await t.db.owner.selectFrom('sessions').select('elevated_role').where('id', '=', claimsOf(operator.accessToken).sid as string).executeTakeFirstOrThrow();
      assert.equal(session.elevated_role, 'super_admin');

      const granted = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'security.super_admin_granted').execute();
      assert.equal(granted.length, 1);
      assert.deepEqual([granted[0]!.chain_id, granted[0]!.severity, granted[0]!.actor_id], [PLATFORM_CHAIN, 'high', operatorId]);

      await t.app.inject({ method: 'GET', url: '/v1/platform/tenants', headers: operator.headers });
      const requests = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'security.super_admin_request').orderBy('seq').execute();
      assert.deepEqual(
        requests.map((e) => [e.chain_id, e.severity, e.actor_id, e.metadata.method, e.metadata.route]),
        [
          [PLATFORM_CHAIN, 'high', operatorId, 'GET', '/v1/me'],
          [PLATFORM_CHAIN, 'high', operatorId, 'GET', '/v1/platform/tenants'],
        ],
      );

      // The refreshed token keeps the elevation, and so its requests stay audited.
      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: operator.refreshToken } });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.deepEqual(claimsOf(refreshed.json().access_token).roles, ['operator', 'super_admin']);

      // A Super Admin may impersonate.
      const memberId = await userId(t, 'member@acme.demo.test');
      const started = await t.app.inject({ method: 'POST', url: URL, headers: operator.headers, payload: { tenant_id: t.tenants.acme!.id, user_id: memberId, reason: REASON } });
      assert.equal(started.statusCode, 201, started.body);
    });

    test('Super Admin cannot be stored on a user, and other operators are not elevated', async () => {
      const operatorId = await userId(t, DEMO_OPERATOR);
      await assert.rejects(
        t.db.withPlatform((tx) => sql`update users set platform_role = 'super_admin' where id = ${operatorId}`.execute(tx)),
        (error: { code?: string }) => error.code === '23514',
      );
      await addStaff(t, 'other-operator@platform.test', 'operator');
      const other = await t.login('other-operator@platform.test');
      assert.deepEqual(claimsOf(other.accessToken).roles, ['operator']);
      const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: other.headers })).json() as { permissions: string[] };
      assert.ok(!me.permissions.includes('platform.impersonate'));
    });
  });
});
