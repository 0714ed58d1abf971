// FR-AUTH-014: generated from the route table and the permission catalog. Every route whose
// permission is sensitive refuses a password-only session with 403 step-up-required and lets the
// same session through once it has proven a second factor; a proof older than the window is refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { generate } from 'otplib';
import { planeOf, PLATFORM_ROLES, type Permission, type PlatformRole } from '../../kernel/auth/permissions.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { loginThrottle } from '../lockout/index.ts';
import { verifiedEmail } from './mfa.test-helpers.ts';

const MAX_AGE = 600;
const STAFF_ROLES = ['operator', 'support', 'auditor'] as const satisfies readonly PlatformRole[];

interface Person {
  passwordOnly: Session;
  stepped: Session;
}

describe('step-up for sensitive actions, for every sensitive route (FR-AUTH-014, NFR-SEC-003)', () => {
  let t: TestPlatform;
  let acme: string;
  let owner: Person;
  const staff = new Map<PlatformRole, Person>();

  const sensitive = () =>
    t.running.routes.flatMap((route) =>
      route.stepUp
        ? route.method
            .split(',')
            .filter((method) => method !== 'HEAD' && method !== 'OPTIONS')
            .map((method) => ({ method, url: route.url, permission: route.access as Permission }))
        : [],
    );

  async function call(headers: Session['headers'], method: string, url: string) {
    const path = url.replace(/:(\w+)/g, (_, name: string) => (name === 'tenantId' ? acme : randomUUID())).replace(/\*$/, 'x');
    const response = await t.app.inject({ method: method as 'GET', url: path, headers });
    return { code: response.statusCode, type: response.statusCode >= 400 ? (response.json() as { type: string }).type : null, body: response.body };
  }

  /**
   * A password-only session of a person who then enrols an authenticator app, and the same session
   * after a step-up with it.
   */
  async function person(email: string, tenant?: string): Promise<Person> {
    await verifiedEmail(t, email);
    const passwordOnly = await t.login(email, tenant);
    const enrol = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: passwordOnly.headers });
    assert.equal(enrol.statusCode, 200, enrol.body);
    const started = enrol.json() as { factor_id: string; secret: string };
    // Two steps in a row, the later one current or next: both stay inside the server's window of one
    // step either side for the 10 s these requests may take on a busy machine.
    const step = Math.floor((Date.now() + 10_000) / 30_000);
    const confirm = await t.app.inject({
      method: 'POST',
      url: `/v1/me/mfa/totp/${started.factor_id}/confirm`,
      headers: passwordOnly.headers,
      payload: { code: await generate({ secret: started.secret, epoch: (step - 1) * 30 }) },
    });
    assert.equal(confirm.statusCode, 200, confirm.body);
    const stepUp = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/step-up',
      headers: passwordOnly.headers,
      payload: { totp_code: await generate({ secret: started.secret, epoch: step * 30 }) },
    });
    assert.equal(stepUp.statusCode, 200, stepUp.body);
    const pair = stepUp.json() as { access_token: string; refresh_token: string };
    return { passwordOnly, stepped: { accessToken: pair.access_token, refreshToken: pair.refresh_token, headers: { authorization: `Bearer ${pair.access_token}` } } };
  }

  before(async () => {
    t = await buildTestPlatform({ STEP_UP_ENFORCED: 'true' }, { worker: false, policy: { mfa: { step_up_max_age_seconds: MAX_AGE } } });
    acme = t.tenants.acme!.id;
    await t.addUser('acme', 'stepup-owner@acme.example', 'owner');
    owner = await person('stepup-owner@acme.example', 'acme');
    const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
    for (const role of STAFF_ROLES) {
      await t.db.withPlatform((tx) => tx.insertInto('users').values({ tenant_id: null, email: `stepup-${role}@demo.test`, platform_role: role, password_hash: hash, email_verified_at: new Date() }).execute());
      staff.set(role, await person(`stepup-${role}@demo.test`));
    }
  });
  after(() => t?.close());

  test('the table is not vacuous: sensitive routes of both planes exist', () => {
    const routes = sensitive();
    assert.ok(routes.some((r) => planeOf(r.permission) === 'tenant'));
    assert.ok(routes.some((r) => planeOf(r.permission) === 'platform'));
  });

  test('step-up marks the session: amr gains mfa and otp, mfa_at is now, and refresh keeps both', async () => {
    const claims = decodeJwt(owner.stepped.accessToken) as { amr: string[]; mfa_at: number; sid: string };
    assert.deepEqual(claims.amr, ['pwd', 'mfa', 'otp']);
    assert.ok(Math.abs(claims.mfa_at - Date.now() / 1000) < 120);
    assert.equal(claims.sid, (decodeJwt(owner.passwordOnly.accessToken) as { sid: string }).sid, 'the same session');
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: owner.stepped.refreshToken } });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const again = decodeJwt((refreshed.json() as { access_token: string }).access_token) as { amr: string[]; mfa_at: number };
    assert.deepEqual([again.amr, again.mfa_at], [claims.amr, claims.mfa_at]);
    const old = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: owner.passwordOnly.refreshToken } });
    assert.equal(old.statusCode, 401, 'the refresh token of before the step-up is replaced');
  });

  test('every sensitive route refuses a password-only session with step-up-required and lets the stepped-up session past', async (ctx) => {
    for (const route of sensitive()) {
      await ctx.test(`${route.method} ${route.url} (${route.permission})`, async () => {
        const holder =
          planeOf(route.permission) === 'tenant'
            ? owner
            : staff.get(STAFF_ROLES.find((role) => (PLATFORM_ROLES[role].permissions as readonly string[]).includes(route.permission))!);
        assert.ok(holder, `no staff role holds ${route.permission}`);
        const refused = await call(holder.passwordOnly.headers, route.method, route.url);
        assert.equal(refused.code, 403, refused.body);
        assert.equal(refused.type, '/problems/step-up-required');
        const passed = await call(holder.stepped.headers, route.method, route.url);
        assert.ok(passed.code !== 401 && passed.code !== 403, `the stepped-up session should pass, got ${passed.code} ${passed.body}`);
      });
    }
  });

  test('API keys act for systems, not people: a sensitive scope needs no step-up', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `/v1/tenants/${acme}/api-keys`,
      headers: owner.stepped.headers,
      payload: { name: 'Step-up probe', scopes: ['users.manage'] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const key = (created.json() as { secret: string }).secret;
    const response = await call({ authorization: `Bearer ${key}` }, 'GET', '/v1/tenants/:tenantId/users/:userId/sessions');
    assert.equal(response.code, 404, response.body);
  });

  test('a non-sensitive route needs no step-up', async () => {
    const response = await call(owner.passwordOnly.headers, 'GET', '/v1/tenants/:tenantId/customers');
    assert.equal(response.code, 200);
  });

  test('attack: a second factor proven longer ago than mfa.step_up_max_age_seconds is refused', async () => {
    const claims = decodeJwt(owner.stepped.accessToken) as { sub: string; tenant_id: string; roles: string[]; sid: string; amr: string[] };
    const stale = await t.running.platform.tokens.issue({ ...claims, mfa_at: Math.floor(Date.now() / 1000) - MAX_AGE - 5 });
    const response = await call({ authorization: `Bearer ${stale.token}` }, 'GET', '/v1/tenants/:tenantId/users/:userId/sessions');
    assert.equal(response.code, 403);
    assert.equal(response.type, '/problems/step-up-required');
  });

  test('a wrong code does not step up, counts toward the lockout and is audited', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/step-up', headers: owner.passwordOnly.headers, payload: { totp_code: '000000' } });
    assert.ok(response.statusCode === 403 || response.statusCode === 401, response.body);
    const failed = await t.db.owner.selectFrom('audit_events').select('outcome').where('action', '=', 'auth.step_up').where('outcome', '=', 'failure').execute();
    assert.ok(failed.length >= 1);
    const { account, source } = loginThrottle(t.running.platform.throttleKeys, { tenant: t.tenants.acme!.id, email: 'stepup-owner@acme.example', source: 'address:127.0.0.1' });
    const counted = await sql<{ failures: number }>`select failures from login_failures where account = ${account} and source = ${source}`.execute(t.db.owner);
    assert.equal(counted.rows[0]?.failures, 1);
  });
});
