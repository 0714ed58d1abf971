// Answers that carry tokens, secrets or exports are never kept by a browser or a proxy: every API
// answer is `Cache-Control: no-store` unless its route chose its own caching (the JWKS, the flag
// document's ETag), failures included.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

type Answer = Awaited<ReturnType<TestPlatform['app']['inject']>>;

describe('Cache-Control: no-store on auth answers, secrets and CSV exports (FR-AUTH-005, FR-AUTH-012, CON-SEC-004)', () => {
  let t: TestPlatform;
  let acme: string;
  let owner: Session;
  let operator: Session;

  const post = (url: string, payload: object, session?: Session) =>
    t.app.inject({ method: 'POST', url, payload, ...(session ? { headers: session.headers } : {}) });
  const get = (url: string, session: Session) => t.app.inject({ method: 'GET', url, headers: session.headers });
  // Steps counted from 10 s ahead, so a step boundary during the requests leaves both codes in the window.
  const totp = (secret: string, stepsFromNow: number) => generate({ secret, epoch: (Math.floor((Date.now() + 10_000) / 30_000) + stepsFromNow) * 30 });

  /** A user who enrols an authenticator app; each step's answer carries a secret. */
  async function enrolment() {
    const email = `nostore-${randomUUID()}@acme.example`;
    await t.addUser('acme', email, 'member');
    const session = await t.login(email, 'acme');
    const started = await post('/v1/me/mfa/totp', {}, session);
    const { factor_id, secret } = started.json() as { factor_id: string; secret: string };
    const confirmed = await post(`/v1/me/mfa/totp/${factor_id}/confirm`, { code: await totp(secret, -1) }, session);
    const stepUp = await post('/v1/auth/step-up', { totp_code: await totp(secret, 0) }, session);
    const stepped = stepUp.json() as { access_token: string; refresh_token: string };
    const steppedSession = { accessToken: stepped.access_token, refreshToken: stepped.refresh_token, headers: { authorization: `Bearer ${stepped.access_token}` } };
    const recoveryCodes = await post('/v1/me/mfa/recovery-codes', {}, steppedSession);
    return { started, confirmed, stepUp, recoveryCodes };
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0 } } });
    acme = t.tenants.acme!.id;
    owner = await t.login('owner@acme.demo.test', 'acme');
    operator = await t.login('operator@demo.test');
  });
  after(() => t?.close());

  test('every auth answer, every answer with a secret and every CSV export is no-store', async () => {
    const enrolled = await enrolment();
    const key = await post(`/v1/tenants/${acme}/api-keys`, { name: 'No store', scopes: ['customers.read'] }, owner);
    const app = await post('/v1/platform/apps', { name: 'No store', environment: 'production', owner: 'team@example.com' }, operator);
    const period = `from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`;
    const login = await post('/v1/auth/login', { email: 'member@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' });
    const cases: [string, number, () => Promise<Answer>][] = [
      ['POST /v1/auth/login', 200, async () => login],
      ['POST /v1/auth/login, wrong password', 401, () => post('/v1/auth/login', { email: 'member@acme.demo.test', password: 'Wrong-Passw0rd!!', tenant: 'acme' })],
      ['POST /v1/auth/refresh', 200, () => post('/v1/auth/refresh', { refresh_token: (login.json() as { refresh_token: string }).refresh_token })],
      ['POST /v1/auth/refresh, unknown token', 401, () => post('/v1/auth/refresh', { refresh_token: `${acme}.${'x'.repeat(43)}` })],
      ['POST /v1/auth/mfa/verify', 401, () => post('/v1/auth/mfa/verify', { challenge_token: `${acme}.${'x'.repeat(43)}`, totp_code: '123456' })],
      ['POST /v1/auth/mfa/enroll/totp', 401, () => post('/v1/auth/mfa/enroll/totp', { challenge_token: `${acme}.${'x'.repeat(43)}` })],
      ['POST /v1/auth/step-up', 200, async () => enrolled.stepUp],
      ['POST /v1/auth/sso/exchange', 401, () => post('/v1/auth/sso/exchange', { code: 'x'.repeat(43) })],
      ['POST /v1/auth/password-reset', 202, () => post('/v1/auth/password-reset', { email: 'member@acme.demo.test', tenant: 'acme' })],
      ['POST /v1/auth/password-reset/confirm', 410, () => post('/v1/auth/password-reset/confirm', { token: `${acme}.${'x'.repeat(43)}`, new_password: 'Quiet-Harbor-Lantern-7' })],
      ['POST /v1/invitations/accept', 410, () => post('/v1/invitations/accept', { token: `${acme}.${'x'.repeat(43)}`, password: 'Quiet-Harbor-Lantern-7' })],
      ['POST /v1/me/mfa/totp', 200, async () => enrolled.started],
      ['POST /v1/me/mfa/totp/:id/confirm', 200, async () => enrolled.confirmed],
      ['POST /v1/me/mfa/recovery-codes', 200, async () => enrolled.recoveryCodes],
      ['POST /v1/tenants/:tenantId/api-keys', 201, async () => key],
      ['POST /v1/tenants/:tenantId/api-keys/:id/rotate', 201, () => post(`/v1/tenants/${acme}/api-keys/${(key.json() as { id: string }).id}/rotate`, {}, owner)],
      ['POST /v1/platform/apps/:appId/keys', 201, () => post(`/v1/platform/apps/${(app.json() as { id: string }).id}/keys`, { scopes: ['billing:write'] }, operator)],
      ['GET /v1/tenants/:tenantId/audit-events.csv', 200, () => get(`/v1/tenants/${acme}/audit-events.csv`, owner)],
      ['GET /v1/platform/billing/events.csv', 200, () => get(`/v1/platform/billing/events.csv?tenant=${acme}&${period}`, operator)],
      ['GET /v1/me', 200, () => get('/v1/me', owner)],
      ['GET /v1/me, no token', 401, () => t.app.inject({ method: 'GET', url: '/v1/me' })],
    ];
    for (const [name, status, call] of cases) {
      const answer = await call();
      assert.equal(answer.statusCode, status, `${name}: ${answer.body}`);
      assert.equal(answer.headers['cache-control'], 'no-store', name);
      assert.equal(answer.headers.pragma, 'no-cache', name);
    }
  });

  test('a route with a caching policy of its own keeps it', async () => {
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(jwks.statusCode, 200);
    assert.equal(jwks.headers['cache-control'], 'public, max-age=300');
    assert.equal(jwks.headers.pragma, undefined);
  });
});
