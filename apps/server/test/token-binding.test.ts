// FR-AUTH-013, FR-TEN-006: a correctly signed access token is honoured only for the session it
// names, as that session's user in that session's tenant (and, in an impersonation, with that
// session's impersonator), and only for a bounded lifetime. The forgeries below are signed with the
// platform's real key, as an attacker holding a leaked key would sign them.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const TEN_YEARS = 10 * 365 * 86_400;
const REASON = 'Customer reports the order list is empty (ticket 4711)';

describe('access tokens are bound to their session and their lifetime (FR-AUTH-013, FR-TEN-006)', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let owner: Session;
  let member: Session;
  let ownerId: string;
  let supportId: string;
  let support: Session;
  let sign: (claims: JWTPayload) => Promise<string>;

  const get = (url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

  /**
   * Asserts the token is refused with a 401 problem both when its session is cached on this node
   * (warmed by the genuine token just before) and when it must be read from the database.
   */
  async function refusedEverywhere(genuine: string, forged: string, url: string, what: string) {
    assert.equal((await get('/v1/me', genuine)).statusCode, 200, `${what}: the genuine token works (and warms the cache)`);
    const cached = await get(url, forged);
    assert.equal(cached.statusCode, 401, `${what}, session cached: ${cached.body}`);
    assert.equal(cached.json().type, '/problems/unauthorized', what);
    t.running.platform.sessions.apply({ kind: 'all' });
    const uncached = await get(url, forged);
    assert.equal(uncached.statusCode, 401, `${what}, session read from the database: ${uncached.body}`);
    assert.equal(uncached.json().type, '/problems/unauthorized', what);
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    owner = await t.login('owner@acme.demo.test', 'acme');
    member = await t.login('member@acme.demo.test', 'acme');
    ownerId = decodeJwt(owner.accessToken).sub!;
    const privateJwk = JSON.parse(await fs.readFile(path.join(t.config.dataDir, 'signing-key.json'), 'utf8')) as JWK;
    const key = await importJWK(privateJwk, 'EdDSA');
    const { kid } = decodeProtectedHeader(owner.accessToken);
    sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(key);

    supportId = await t.addStaff('support@platform.test', 'support');
    support = await t.login('support@platform.test');
  });
  after(() => t?.close());

  test('the same claims re-signed with the key are accepted: the refusals below are the claims', async () => {
    const resigned = await sign(decodeJwt(owner.accessToken));
    assert.equal((await get(`/v1/tenants/${acme}/customers`, resigned)).statusCode, 200);
  });

  test("a token naming another tenant than its session's is refused: no read of globex's customers with a live acme session", async () => {
    const claims = decodeJwt(owner.accessToken);
    const globexOwner = await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@globex.demo.test').executeTakeFirstOrThrow();
    // The attacker names globex and a globex user, but borrows the live acme session.
    for (const sub of [claims.sub, globexOwner.id]) {
      await refusedEverywhere(owner.accessToken, await sign({ ...claims, sub, tenant_id: globex }), `/v1/tenants/${globex}/customers`, `tenant globex, sub ${sub}`);
    }
    // Nor does a platform token (tenant_id null) borrow a tenant session.
    await refusedEverywhere(owner.accessToken, await sign({ ...claims, tenant_id: null }), '/v1/me', 'tenant_id null');
  });

  test('a token naming another user than its session\'s is refused: /v1/me never answers as someone else', async () => {
    const claims = decodeJwt(member.accessToken);
    await refusedEverywhere(member.accessToken, await sign({ ...claims, sub: ownerId }), '/v1/me', 'sub swapped to the Owner');
    await refusedEverywhere(member.accessToken, await sign({ ...claims, sub: ownerId }), `/v1/tenants/${acme}/users`, 'sub swapped to the Owner, an Owner route');
    // Only a holder of the signing key makes such a token: a critical event in the platform chain.
    const events = await t.db.owner.selectFrom('audit_events').selectAll().where('action', '=', 'security.token_session_mismatch').execute();
    const mine = events.filter((e) => e.metadata.session_id === claims.sid);
    assert.ok(mine.length >= 4 && mine.every((e) => e.tenant_id === null && e.severity === 'critical' && e.category === 'security'), JSON.stringify(mine));
  });

  test('exp and iat are required, and exp lies at most ACCESS_TOKEN_TTL_SECONDS after iat', async () => {
    const { exp: _exp, iat: _iat, ...claims } = decodeJwt(owner.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const ttl = t.config.accessTokenTtlSeconds;
    const cases: [string, JWTPayload][] = [
      ['no exp', { ...claims, iat: now }],
      ['no exp, no iat', claims],
      ['exp ten years ahead', { ...claims, iat: now, exp: now + TEN_YEARS }],
      ['exp one second longer than the lifetime', { ...claims, iat: now, exp: now + ttl + 1 }],
      ['no iat', { ...claims, exp: now + 60 }],
      ['iat after exp', { ...claims, iat: now + 120, exp: now + 60 }],
      ['iat ten years ahead, exp within the lifetime of it', { ...claims, iat: now + TEN_YEARS, exp: now + TEN_YEARS + 60 }],
    ];
    for (const [what, payload] of cases) await refusedEverywhere(owner.accessToken, await sign(payload), '/v1/me', what);
    assert.equal((await get('/v1/me', await sign({ ...claims, iat: now, exp: now + ttl }))).statusCode, 200, 'exactly the lifetime is accepted');
  });

  test('the platform does not issue a token it would refuse', async () => {
    const claims = { sub: ownerId, tenant_id: acme, roles: ['owner'], sid: decodeJwt(owner.accessToken).sid as string, amr: ['pwd'] };
    const { tokens } = t.running.platform;
    await assert.rejects(tokens.issue(claims, { expiresAt: new Date(Date.now() + (t.config.accessTokenTtlSeconds + 60) * 1000) }));
    await assert.rejects(tokens.issue({ ...claims, act: { sub: supportId } }, { expiresAt: new Date(Date.now() + 31 * 60_000) }));
  });

  test('impersonation tokens still work, bound to the impersonated user, the tenant, the impersonator and at most 30 minutes', async () => {
    const memberId = decodeJwt(member.accessToken).sub!;
    const response = await t.app.inject({ method: 'POST', url: '/v1/platform/impersonations', headers: support.headers, payload: { tenant_id: acme, user_id: memberId, reason: REASON } });
    assert.equal(response.statusCode, 201, response.body);
    const started = response.json() as { access_token: string; session_id: string; expires_at: string };
    const claims = decodeJwt(started.access_token);
    assert.ok(claims.exp! - claims.iat! > t.config.accessTokenTtlSeconds, 'an impersonation token lives as long as its session, beyond the ordinary lifetime');
    const me = await get('/v1/me', started.access_token);
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual([me.json().id, me.json().impersonator?.id], [memberId, supportId]);
    assert.equal((await get('/v1/me', await sign(claims))).statusCode, 200, 'the same claims re-signed are accepted');

    await refusedEverywhere(started.access_token, await sign({ ...claims, sub: ownerId }), '/v1/me', 'impersonation, sub swapped to the Owner');
    await refusedEverywhere(started.access_token, await sign({ ...claims, tenant_id: globex }), `/v1/tenants/${globex}/customers`, 'impersonation, tenant swapped');
    await refusedEverywhere(started.access_token, await sign({ ...claims, act: { sub: ownerId } }), '/v1/me', 'impersonation, another impersonator');
    const now = Math.floor(Date.now() / 1000);
    await refusedEverywhere(started.access_token, await sign({ ...claims, iat: now, exp: now + 31 * 60 }), '/v1/me', 'impersonation, exp beyond 30 minutes');
  });
});
