import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, eventually, TEST_PASSWORD, type TestPlatform } from '../../../test/helpers.ts';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform, type Running } from '../../start.ts';
import { namespacedDeviceId } from './sessions.service.ts';

interface Signed {
  accessToken: string;
  refreshToken: string;
  deviceId: string;
  sessionId: string;
  headers: { authorization: string };
}

interface SessionItem {
  id: string;
  device_id: string | null;
  new_device: boolean;
  current: boolean;
}

describe('sessions and devices (FR-AUTH-008)', () => {
  let t: TestPlatform;
  let nodeB: Running;
  let acme: string;
  let memberId: string;

  async function signIn(email: string, device?: Record<string, string>, tenant = 'acme'): Promise<Signed> {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: TEST_PASSWORD, tenant, ...(device ? { device } : {}) } });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as { access_token: string; refresh_token: string; device_id: string };
    const headers = { authorization: `Bearer ${body.access_token}` };
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers });
    return { accessToken: body.access_token, refreshToken: body.refresh_token, deviceId: body.device_id, sessionId: (me.json() as { session_id: string }).session_id, headers };
  }

  type Caller = { headers: { authorization: string } };
  const get = (url: string, who: Caller, on: TestPlatform['app'] = t.app) => on.inject({ method: 'GET', url, headers: who.headers });
  const del = (url: string, who: Caller) => t.app.inject({ method: 'DELETE', url, headers: who.headers });
  const sessionsOf = async (who: Signed) => ((await get('/v1/me/sessions', who)).json() as { items: SessionItem[] }).items;
  const refresh = (who: Signed) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: who.refreshToken } });
  const auditActions = (action: string, resourceId: string) =>
    t.db.owner.selectFrom('audit_events').select(['action', 'category', 'severity', 'metadata']).where('action', '=', action).where('resource_id', '=', resourceId).execute();
  const backdate = (sessionId: string, seconds: number) =>
    t.db.owner.updateTable('sessions').set({ last_seen_at: new Date(Date.now() - seconds * 1000) }).where('id', '=', sessionId).execute();
  /** Forgets the node's cached copy, as when the cache entry ages out. */
  const forget = (sessionId: string) => t.running.platform.sessions.apply({ kind: 'session', id: sessionId });

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    // A second API node on the same database, with its own session cache.
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    acme = t.tenants.acme!.id;
    memberId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'member@acme.demo.test').executeTakeFirstOrThrow()).id;
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
  });

  test('a login registers its device; the same device id later is not new, and a new device is a security event', async () => {
    const first = await signIn('member@acme.demo.test', { os: 'iOS 18', app_version: '2.1.0' });
    assert.ok(first.deviceId);
    const events = await auditActions('auth.new_device', first.deviceId);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.category, 'audit');
    assert.equal(events[0]!.severity, 'info');

    const again = await signIn('member@acme.demo.test', { id: first.deviceId, app_version: '2.2.0' });
    assert.equal(again.deviceId, first.deviceId);
    assert.equal((await auditActions('auth.new_device', first.deviceId)).length, 1, 'a known device is not new');

    const items = await sessionsOf(again);
    const mine = items.find((item) => item.id === again.sessionId)!;
    assert.equal(mine.current, true);
    assert.equal(mine.new_device, false);
    assert.equal(mine.device_id, first.deviceId);
    assert.equal(items.find((item) => item.id === first.sessionId)!.new_device, true);
    assert.equal(items.filter((item) => item.current).length, 1);

    const devices = (await get('/v1/me/devices', again)).json() as { items: { id: string; os: string; app_version: string; active_sessions: number }[] };
    const device = devices.items.find((item) => item.id === first.deviceId)!;
    assert.equal(device.os, 'iOS 18');
    assert.equal(device.app_version, '2.2.0');
    assert.equal(device.active_sessions, 2);
  });

  test("a device id of another user is not taken over: the login gets a new device", async () => {
    const owner = await signIn('owner@acme.demo.test', { os: 'macOS' });
    const member = await signIn('member@acme.demo.test', { id: owner.deviceId });
    assert.notEqual(member.deviceId, owner.deviceId);
  });

  test('attack: a client id names a device of its user only, so it neither links tenants nor tells who else uses it', async () => {
    const client = randomUUID();
    const member = await signIn('member@acme.demo.test', { id: client });
    const memberUserId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'member@acme.demo.test').executeTakeFirstOrThrow()).id;
    assert.equal(member.deviceId, namespacedDeviceId(t.tenants.acme!.id, memberUserId, client), 'stored under its namespaced id');
    assert.equal((await signIn('member@acme.demo.test', { id: client })).deviceId, member.deviceId, 'the client id names the same device again');
    assert.equal((await signIn('member@acme.demo.test', { id: member.deviceId })).deviceId, member.deviceId, 'so does the device_id the login returned');
    const owner = await signIn('owner@acme.demo.test', { id: client });
    const elsewhere = await signIn('member@globex.demo.test', { id: client }, 'globex');
    const stored = await t.db.owner.selectFrom('devices').select('id').where('id', 'in', [client, member.deviceId, owner.deviceId, elsewhere.deviceId]).execute();
    assert.equal(new Set([member.deviceId, owner.deviceId, elsewhere.deviceId]).size, 3, 'another user, another tenant: other devices');
    assert.equal(stored.length, 3);
    assert.ok(!stored.some((row) => row.id === client), 'the client id itself is stored nowhere');
  });

  test('revoking one of my sessions ends it at once on every node, and is audited', async () => {
    const phone = await signIn('member@acme.demo.test');
    const laptop = await signIn('member@acme.demo.test');
    // Node B has the phone session cached.
    assert.equal((await get('/v1/me', phone, nodeB.app!)).statusCode, 200);
    assert.equal((await del(`/v1/me/sessions/${phone.sessionId}`, laptop)).statusCode, 204);
    await eventually(async () => (await get('/v1/me', phone, nodeB.app!)).statusCode === 401, 2_000);
    assert.equal((await get('/v1/me', phone)).statusCode, 401);
    assert.equal((await refresh(phone)).statusCode, 401);
    assert.equal((await get('/v1/me', laptop)).statusCode, 200);
    assert.equal((await auditActions('session.revoked', phone.sessionId)).length, 1);
    // Gone, unknown and someone else's sessions are not found.
    assert.equal((await del(`/v1/me/sessions/${phone.sessionId}`, laptop)).statusCode, 404);
    assert.equal((await del(`/v1/me/sessions/${randomUUID()}`, laptop)).statusCode, 404);
    const owner = await signIn('owner@acme.demo.test');
    assert.equal((await del(`/v1/me/sessions/${owner.sessionId}`, laptop)).statusCode, 404);
    assert.equal((await get('/v1/me', owner)).statusCode, 200);
    assert.equal((await del('/v1/me/sessions/not-a-uuid', laptop)).statusCode, 400);
  });

  test('revoking a device ends every session opened from it and forgets it', async () => {
    const first = await signIn('member@acme.demo.test', { os: 'Android' });
    const second = await signIn('member@acme.demo.test', { id: first.deviceId });
    const other = await signIn('member@acme.demo.test');
    assert.equal((await get('/v1/me', first, nodeB.app!)).statusCode, 200);
    assert.equal((await del(`/v1/me/devices/${first.deviceId}`, other)).statusCode, 204);
    await eventually(async () => (await get('/v1/me', first, nodeB.app!)).statusCode === 401, 2_000);
    assert.equal((await get('/v1/me', second)).statusCode, 401);
    assert.equal((await get('/v1/me', other)).statusCode, 200);
    const devices = (await get('/v1/me/devices', other)).json() as { items: { id: string }[] };
    assert.ok(!devices.items.some((item) => item.id === first.deviceId));
    assert.equal((await auditActions('device.revoked', first.deviceId)).length, 1);
    assert.equal((await del(`/v1/me/devices/${first.deviceId}`, other)).statusCode, 404);
    // Signing in again with the forgotten id makes a new device.
    const back = await signIn('member@acme.demo.test', { id: first.deviceId });
    assert.notEqual(back.deviceId, first.deviceId);
  });

  test("tenant admins list and revoke their users' sessions; members cannot; other tenants cannot", async () => {
    const owner = await signIn('owner@acme.demo.test');
    const one = await signIn('member@acme.demo.test');
    const two = await signIn('member@acme.demo.test');
    const base = `/v1/tenants/${acme}/users/${memberId}/sessions`;
    const listed = (await get(base, owner)).json() as { items: SessionItem[] };
    assert.ok(listed.items.some((item) => item.id === one.sessionId));
    assert.ok(listed.items.every((item) => item.current === false));

    assert.equal((await get(base, one)).statusCode, 403);
    assert.equal((await del(base, one)).statusCode, 403);
    const globexOwner = await signIn('owner@globex.demo.test', undefined, 'globex');
    assert.equal((await get(base, globexOwner)).statusCode, 403);
    assert.equal((await get(`/v1/tenants/${t.tenants.globex!.id}/users/${memberId}/sessions`, globexOwner)).statusCode, 404);

    assert.equal((await get('/v1/me', one, nodeB.app!)).statusCode, 200);
    assert.equal((await del(`${base}/${one.sessionId}`, owner)).statusCode, 204);
    await eventually(async () => (await get('/v1/me', one, nodeB.app!)).statusCode === 401, 2_000);
    assert.equal((await get('/v1/me', two)).statusCode, 200);

    assert.equal((await get('/v1/me', two, nodeB.app!)).statusCode, 200);
    assert.equal((await del(base, owner)).statusCode, 204);
    await eventually(async () => (await get('/v1/me', two, nodeB.app!)).statusCode === 401, 2_000);
    assert.equal((await get('/v1/me', two)).statusCode, 401);
    assert.equal((await get('/v1/me', owner)).statusCode, 200);
    assert.equal((await auditActions('session.revoked', memberId)).length, 1);
  });

  test('a session unused past the idle timeout is refused, and its refresh token no longer renews it', async () => {
    const idle = await signIn('member@acme.demo.test');
    await backdate(idle.sessionId, t.config.sessionIdleTimeoutSeconds + 60);
    // The cached copy still counts the login as the last use; the cache entry ages out.
    forget(idle.sessionId);
    assert.equal((await get('/v1/me', idle)).statusCode, 401);
    assert.equal((await refresh(idle)).statusCode, 401);

    // In use: a request records the use (at most once a minute), so the session stays.
    const busy = await signIn('member@acme.demo.test');
    await backdate(busy.sessionId, t.config.sessionIdleTimeoutSeconds - 60);
    forget(busy.sessionId);
    assert.equal((await get('/v1/me', busy)).statusCode, 200);
    await eventually(async () => {
      const row = await t.db.owner.selectFrom('sessions').select('last_seen_at').where('id', '=', busy.sessionId).executeTakeFirstOrThrow();
      return Date.now() - row.last_seen_at.getTime() < 10_000;
    });
    assert.equal((await refresh(busy)).statusCode, 200);
  });

  test('a tenant may shorten the idle timeout and the session lifetime, never lengthen them', async () => {
    const owner = await signIn('owner@acme.demo.test');
    const member = await signIn('member@acme.demo.test');
    const policy = `/v1/tenants/${acme}/session-policy`;
    const put = (who: Signed, payload: object) => t.app.inject({ method: 'PUT', url: policy, headers: who.headers, payload });

    assert.equal((await put(member, { idle_timeout_seconds: 600, absolute_ttl_seconds: null })).statusCode, 403);
    const tooLong = await put(owner, { idle_timeout_seconds: t.config.sessionIdleTimeoutSeconds + 1, absolute_ttl_seconds: null });
    assert.equal(tooLong.statusCode, 400, tooLong.body);
    assert.equal((await put(owner, { idle_timeout_seconds: 600, absolute_ttl_seconds: t.config.sessionAbsoluteTtlSeconds + 1 })).statusCode, 400);
    assert.equal((await get(policy, owner)).json().idle_timeout_seconds, null, 'refused changes change nothing');

    const set = await put(owner, { idle_timeout_seconds: 600, absolute_ttl_seconds: 3600 });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().effective.idle_timeout_seconds, 600);
    assert.equal((await auditActions('session_policy.updated', acme)).length, 1);

    // Idle for 11 minutes: inside the environment's 30, past the tenant's 10.
    assert.equal((await get('/v1/me', member)).statusCode, 200);
    await backdate(member.sessionId, 660);
    forget(member.sessionId);
    assert.equal((await get('/v1/me', member)).statusCode, 401);

    const fresh = await signIn('member@acme.demo.test');
    const row = await t.db.owner.selectFrom('sessions').select(['created_at', 'expires_at']).where('id', '=', fresh.sessionId).executeTakeFirstOrThrow();
    assert.ok(row.expires_at.getTime() - row.created_at.getTime() <= 3600 * 1000 + 1000);

    const other = await signIn('member@globex.demo.test', undefined, 'globex');
    await backdate(other.sessionId, 660);
    forget(other.sessionId);
    assert.equal((await get('/v1/me', other)).statusCode, 200, 'another tenant keeps the environment timeout');

    assert.equal((await put(owner, { idle_timeout_seconds: null, absolute_ttl_seconds: null })).statusCode, 200);
  });
});
