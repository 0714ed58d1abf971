import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { buildTestPlatform, TEST_PASSWORD, type TestPlatform } from '../../../test/helpers.ts';

interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

describe('identity: login, tokens, refresh rotation, logout (FR-AUTH-001, FR-AUTH-005, FR-AUTH-013)', () => {
  let t: TestPlatform;

  const login = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload });
  const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } });
  const me = (accessToken: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${accessToken}` } });

  /** The audit events a request left behind, found by its correlation id. */
  const eventsOf = (correlationId: string) =>
    t.db.owner.selectFrom('audit_events').selectAll().where('correlation_id', '=', correlationId).orderBy('occurred_at').execute();

  before(async () => {
    // No progressive delay: the timing test below fails more often than the lockout threshold.
    t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0 } } });
    // An account of its own for the timing test, which locks it: the other tests keep using the demo Member.
    await t.addUser('acme', 'timing@acme.demo.test', 'member');
    // A disabled account with the right password: it must look exactly like a wrong password.
    await t.addUser('acme', 'disabled@acme.demo.test', 'member', { status: 'disabled' });
  });
  after(() => t.close());

  test('login returns a bearer token pair', async () => {
    const response = await login({ email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as TokenBody;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'device_id', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, t.config.accessTokenTtlSeconds);
    assert.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    // The refresh token is opaque and names its tenant, so it can be looked up in the right context.
    assert.ok(body.refresh_token.startsWith(`${t.tenants.acme!.id}.`));
  });

  test('the access token verifies against the published JWKS and carries sub, tenant_id, roles, sid, amr, exp', async () => {
    const tokens = (await login({ email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' })).json() as TokenBody;
    const jwksResponse = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(jwksResponse.statusCode, 200);
    const jwks = jwksResponse.json() as JSONWebKeySet;
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) assert.equal((key as { d?: string }).d, undefined, 'the JWKS must not publish the private part');

    // Verified exactly as a managed application would: with the public JWKS only.
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
      issuer: t.config.publicUrl,
      audience: t.config.jwtAudience,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(jwks.keys.some((key) => key.kid === protectedHeader.kid));

    const profile = (await me(tokens.access_token)).json();
    assert.equal(payload.sub, profile.id);
    assert.equal(payload.tenant_id, t.tenants.acme!.id);
    assert.deepEqual(payload.roles, ['owner']);
    assert.equal(payload.sid, profile.session_id);
    assert.deepEqual(payload.amr, ['pwd']);
    assert.equal(typeof payload.exp, 'number');
    assert.equal(payload.exp! - payload.iat!, t.config.accessTokenTtlSeconds);

    // A different issuer or audience does not verify.
    await assert.rejects(jwtVerify(tokens.access_token, createLocalJWKSet(jwks), { issuer: 'https://evil.example', audience: t.config.jwtAudience }));
    await assert.rejects(jwtVerify(tokens.access_token, createLocalJWKSet(jwks), { issuer: t.config.publicUrl, audience: 'other-app' }));
  });

  test('an operator logs in without a tenant and gets tenant_id null', async () => {
    const response = await login({ email: 'operator@demo.test', password: TEST_PASSWORD });
    assert.equal(response.statusCode, 200, response.body);
    const tokens = response.json() as TokenBody;
    assert.ok(tokens.refresh_token.startsWith('platform.'));
    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.typ, 'at+jwt');
    const claims = await t.running.platform.tokens.verify(tokens.access_token);
    assert.equal(claims.tenant_id, null);
    assert.deepEqual(claims.roles, ['operator']);
    const profile = await me(tokens.access_token);
    assert.equal(profile.statusCode, 200, profile.body);
    assert.equal(profile.json().tenant_id, null);
    assert.equal(profile.json().tenant_slug, null);
  });

  test('wrong password, unknown email, unknown tenant and a disabled user get the identical 401, and each is audited', async () => {
    const attempts = {
      bad_password: { email: 'owner@acme.demo.test', password: 'Wrong-Passw0rd!!', tenant: 'acme' },
      unknown_user: { email: 'nobody@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' },
      unknown_tenant: { email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'no-such-tenant' },
      disabled: { email: 'disabled@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' },
    };
    const bodies: Record<string, unknown>[] = [];
    for (const [reason, payload] of Object.entries(attempts)) {
      const response = await login(payload);
      assert.equal(response.statusCode, 401, `${reason}: ${response.body}`);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      const problem = response.json();
      const { type, title, detail, status } = problem;
      bodies.push({ type, title, detail, status });
      // Nothing but the per-request fields may differ: no hint which part was wrong.
      assert.deepEqual(Object.keys(problem).sort(), ['correlation_id', 'detail', 'instance', 'status', 'title', 'type']);

      const events = await eventsOf(problem.correlation_id);
      assert.equal(events.length, 1, `${reason}: one audit event`);
      const [event] = events;
      assert.equal(event!.action, 'auth.login');
      assert.equal(event!.outcome, 'failure');
      assert.equal(event!.actor_type, 'anonymous');
      assert.equal((event!.metadata as { reason?: string }).reason, reason);
      assert.equal(event!.tenant_id, reason === 'unknown_tenant' ? null : t.tenants.acme!.id);
    }
    for (const body of bodies.slice(1)) assert.deepEqual(body, bodies[0]);
    assert.deepEqual(bodies[0], {
      type: '/problems/invalid-credentials',
      title: 'Invalid credentials',
      detail: 'The email, password or organization is not correct.',
      status: 401,
    });
  });

  test('an unknown email takes about as long as a wrong password (a decoy hash is verified)', async () => {
    // A loose guard against a missing decoy (which would be ~100x faster), not a benchmark.
    const median = async (payload: Record<string, unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const started = process.hrtime.bigint();
        // One address per try: five failures from one source would lock it out (429), known account or not.
        const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: `203.0.113.${100 + i}`, payload });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.equal(response.statusCode, 401);
      }
      return times.sort((a, b) => a - b)[3]!;
    };
    await login({ email: 'warm-up@acme.demo.test', password: 'x', tenant: 'acme' });
    const unknownEmail = await median({ email: 'ghost@acme.demo.test', password: 'Wrong-Passw0rd!!', tenant: 'acme' });
    const wrongPassword = await median({ email: 'timing@acme.demo.test', password: 'Wrong-Passw0rd!!', tenant: 'acme' });
    const ratio = Math.max(unknownEmail, wrongPassword) / Math.min(unknownEmail, wrongPassword);
    assert.ok(ratio < 3, `unknown email ${unknownEmail.toFixed(1)} ms vs wrong password ${wrongPassword.toFixed(1)} ms`);
  });

  test('refresh rotates; a rotated token presented again revokes the whole session and records a security event', async () => {
    const first = (await login({ email: 'member@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' })).json() as TokenBody;
    const sessionId = (await t.running.platform.tokens.verify(first.access_token)).sid;

    const rotated = await refresh(first.refresh_token);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const second = rotated.json() as TokenBody;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(second.token_type, 'Bearer');
    assert.equal((await t.running.platform.tokens.verify(second.access_token)).sid, sessionId, 'rotation keeps the session');

    // The new refresh token works (once).
    const again = await refresh(second.refresh_token);
    assert.equal(again.statusCode, 200, again.body);
    const third = again.json() as TokenBody;

    // The session is live and cached on this node before the theft is detected.
    assert.equal((await me(third.access_token)).statusCode, 200);

    // Two rotations old: a copy, even inside the grace window that covers the previous token.
    const replay = await refresh(first.refresh_token);
    assert.equal(replay.statusCode, 401);
    assert.equal(replay.json().type, '/problems/unauthorized');

    // Every token of the session is dead now, the current access token included, at once.
    assert.equal((await me(third.access_token)).statusCode, 401);
    assert.equal((await me(first.access_token)).statusCode, 401);
    assert.equal((await refresh(third.refresh_token)).statusCode, 401);

    const session = await t.db.owner.selectFrom('sessions').select(['status', 'revoked_reason']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    assert.deepEqual(session, { status: 'revoked', revoked_reason: 'refresh_token_reuse' });
    const security = await t.db.owner
      .selectFrom('audit_events')
      .select(['category', 'severity', 'outcome', 'tenant_id'])
      .where('action', '=', 'auth.refresh_reuse')
      .where('resource_id', '=', sessionId)
      .execute();
    assert.deepEqual(security, [{ category: 'security', severity: 'high', outcome: 'denied', tenant_id: t.tenants.acme!.id }]);
  });

  test('two refreshes of one token at once (two tabs) both succeed with the same new refresh token, and the session stays', async () => {
    const first = (await login({ email: 'member@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' })).json() as TokenBody;
    const sessionId = (await t.running.platform.tokens.verify(first.access_token)).sid;
    const answers = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token), refresh(first.refresh_token)]);
    for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);
    const pairs = answers.map((answer) => answer.json() as TokenBody);
    assert.equal(new Set(pairs.map((pair) => pair.refresh_token)).size, 1, 'every tab gets the winner\'s refresh token');
    assert.notEqual(pairs[0]!.refresh_token, first.refresh_token);
    for (const pair of pairs) {
      assert.equal((await t.running.platform.tokens.verify(pair.access_token)).sid, sessionId);
      assert.equal((await me(pair.access_token)).statusCode, 200);
    }
    // Presented once more, still inside the window: the same answer, not a theft.
    assert.equal(((await refresh(first.refresh_token)).json() as TokenBody).refresh_token, pairs[0]!.refresh_token);
    const next = await refresh(pairs[0]!.refresh_token);
    assert.equal(next.statusCode, 200, next.body);
    assert.equal((await me((next.json() as TokenBody).access_token)).statusCode, 200);
    const session = await t.db.owner.selectFrom('sessions').select('status').where('id', '=', sessionId).executeTakeFirstOrThrow();
    assert.equal(session.status, 'active');
    const rows = await t.db.owner.selectFrom('refresh_tokens').select('status').where('session_id', '=', sessionId).execute();
    assert.equal(rows.length, 3, 'the replays made no token of their own');
    const reuse = await t.db.owner.selectFrom('audit_events').select('id').where('action', '=', 'auth.refresh_reuse').where('resource_id', '=', sessionId).execute();
    assert.deepEqual(reuse, []);
  });

  test('the previous refresh token presented after the grace window revokes the whole session', async () => {
    const first = (await login({ email: 'member@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' })).json() as TokenBody;
    const sessionId = (await t.running.platform.tokens.verify(first.access_token)).sid;
    const second = (await refresh(first.refresh_token)).json() as TokenBody;
    // The rotation happened longer ago than the policy's grace window.
    await t.db.owner
      .updateTable('refresh_tokens')
      .set({ used_at: new Date(Date.now() - (t.running.policy.identity.refresh_reuse_grace_seconds + 1) * 1000) })
      .where('session_id', '=', sessionId)
      .where('status', '=', 'rotated')
      .execute();
    const replay = await refresh(first.refresh_token);
    assert.equal(replay.statusCode, 401);
    assert.equal((await me(second.access_token)).statusCode, 401);
    assert.equal((await refresh(second.refresh_token)).statusCode, 401, "the winner's pair dies with the session");
    const session = await t.db.owner.selectFrom('sessions').select(['status', 'revoked_reason']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    assert.deepEqual(session, { status: 'revoked', revoked_reason: 'refresh_token_reuse' });
  });

  test('a malformed or unknown refresh token is refused', async () => {
    for (const token of ['not-a-token-at-all', `${t.tenants.acme!.id}.${'x'.repeat(43)}`, `platform.${'y'.repeat(43)}`]) {
      const response = await refresh(token);
      assert.equal(response.statusCode, 401, token);
      assert.equal(response.json().type, '/problems/unauthorized');
    }
  });

  test('logout ends the session at once: the same access token gets 401 immediately', async () => {
    const session = await t.login('owner@acme.demo.test', 'acme');
    // Warm the session cache, so the 401 proves eviction and not just a database read.
    assert.equal((await me(session.accessToken)).statusCode, 200);
    const logout = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: session.headers });
    assert.equal(logout.statusCode, 204);
    const afterLogout = await me(session.accessToken);
    assert.equal(afterLogout.statusCode, 401);
    assert.equal(afterLogout.json().type, '/problems/unauthorized');
    assert.equal((await refresh(session.refreshToken)).statusCode, 401, 'the refresh token died with the session');
  });

  test('emails are case- and NFKC-normalised at login', async () => {
    for (const email of ['OWNER@ACME.demo.test', '  Owner@Acme.Demo.Test ', 'ｏｗｎｅｒ@ａｃｍｅ.demo.test']) {
      const response = await login({ email, password: TEST_PASSWORD, tenant: 'acme' });
      assert.equal(response.statusCode, 200, `${email}: ${response.body}`);
    }
    assert.equal((await login({ email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'ACME' })).statusCode, 200, 'slugs too');
  });

  test('GET /v1/me describes the signed-in user with the tenant slug', async () => {
    const session = await t.login('member@globex.demo.test', 'globex');
    const response = await me(session.accessToken);
    assert.equal(response.statusCode, 200, response.body);
    const profile = response.json();
    assert.equal(profile.email, 'member@globex.demo.test');
    assert.equal(profile.tenant_id, t.tenants.globex!.id);
    assert.equal(profile.tenant_slug, 'globex');
    assert.deepEqual(profile.roles, ['member']);
    assert.deepEqual(profile.amr, ['pwd']);
    assert.equal(typeof profile.session_id, 'string');
  });

  test('administrators get shorter sessions: 4 h for an Owner or operator, the absolute TTL for a Member (FR-AUTH-008)', async () => {
    const lifetime = async (email: string, tenant?: string) => {
      const session = await t.login(email, tenant);
      const { sid } = await t.running.platform.tokens.verify(session.accessToken);
      const row = await t.db.owner.selectFrom('sessions').select(['created_at', 'expires_at']).where('id', '=', sid).executeTakeFirstOrThrow();
      return Math.round((row.expires_at.getTime() - row.created_at.getTime()) / 1000);
    };
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 60, `${actual} s, expected ${expected} s`);
    near(await lifetime('owner@acme.demo.test', 'acme'), 4 * 3600);
    near(await lifetime('operator@demo.test'), 4 * 3600);
    near(await lifetime('member@acme.demo.test', 'acme'), t.config.sessionAbsoluteTtlSeconds);
  });

  test('GET /v1/me without or with a forged token is 401', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me' })).statusCode, 401);
    const session = await t.login('owner@acme.demo.test', 'acme');
    const [header, payload] = session.accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    assert.equal((await me(forged)).statusCode, 401);
  });

  test('forged access tokens are refused: alg none, HS256 keyed with the public key, tampered claims, wrong audience or issuer, expired', async () => {
    const session = await t.login('member@acme.demo.test', 'acme');
    assert.equal((await me(session.accessToken)).statusCode, 200, 'the genuine token works');
    const claims = decodeJwt(session.accessToken);
    const { kid } = decodeProtectedHeader(session.accessToken);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const refused = async (token: string, what: string) => {
      const response = await me(token);
      assert.equal(response.statusCode, 401, `${what}: ${response.body}`);
      assert.equal(response.json().type, '/problems/unauthorized', what);
    };
    // alg none: no signature at all.
    await refused(`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`, 'alg none');
    // Algorithm confusion: an HMAC keyed with the published public key.
    const publicJwk = ((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] }).keys[0]!;
    const hmac = new TextEncoder().encode(JSON.stringify(publicJwk));
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(hmac), 'HS256 with the public key');
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(Buffer.from(publicJwk.x!, 'base64url')), 'HS256 with the raw public key');
    // Tampered: the payload of another role under the genuine signature.
    const [header, , signature] = session.accessToken.split('.');
    await refused(`${header}.${b64({ ...claims, roles: ['owner'] })}.${signature}`, 'tampered roles');
    // Signed with the platform's own key, but for another audience or issuer, or expired.
    const privateJwk = JSON.parse(await fs.readFile(path.join(t.config.dataDir, 'signing-key.json'), 'utf8')) as JWK;
    const key = await importJWK(privateJwk, 'EdDSA');
    const signed = (overrides: Record<string, unknown>) => new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(key);
    assert.equal((await me(await signed({}))).statusCode, 200, 'the same key and claims verify: the refusals below are the claims');
    await refused(await signed({ aud: 'other-app' }), 'wrong audience');
    await refused(await signed({ iss: 'https://evil.example' }), 'wrong issuer');
    const past = Math.floor(Date.now() / 1000) - 3600;
    await refused(await signed({ iat: past - 900, exp: past }), 'expired');
  });
});
