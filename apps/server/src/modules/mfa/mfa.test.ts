import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { ConfigError, loadConfig } from '../../kernel/config.ts';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform } from '../../start.ts';
import { buildTestPlatform, eventually, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { verifiedEmail } from './mfa.test-helpers.ts';
import { matchRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts';
import { verifyTotp } from './totp.ts';

const PERIOD = 30;
const nowStep = (aheadSeconds = 0) => Math.floor((Date.now() / 1000 + aheadSeconds) / PERIOD);
/** How long a code must stay inside the server's window: the request that carries it on a busy machine. */
const CODE_LIFETIME_SECONDS = 10;

/**
 * Codes an authenticator app would show, one per time step and never a step twice: the server
 * accepts one step either side of now, and each step once.
 */
function authenticator(secret: string) {
  let last = -Infinity;
  return {
    secret,
    async next(): Promise<string> {
      // The previous step, unless a step boundary is near: then the current one, so the code is
      // still inside the window when the server checks it.
      const step = Math.max(last + 1, nowStep(CODE_LIFETIME_SECONDS) - 1);
      // Every step of the window used: wait, as a person would, until the next step is inside it.
      const inWindowAt = (step - 1) * PERIOD * 1000;
      if (inWindowAt > Date.now()) await sleep(inWindowAt - Date.now());
      last = step;
      return generate({ secret, epoch: step * PERIOD });
    },
    /** The code of the step used last: a replay. */
    async replay(): Promise<string> {
      return generate({ secret, epoch: last * PERIOD });
    },
  };
}

interface Problem {
  type: string;
  status: number;
  error_code?: string;
  challenge_token?: string;
  methods?: string[];
  expires_in?: number;
  enrollment_required?: boolean;
}

describe('TOTP and recovery codes (NFR-SEC-003): units', () => {
  test('a code is valid one step either side of now and once after its step was used', async () => {
    const app = authenticator('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const code = await app.next();
    const step = await verifyTotp(app.secret, code, null);
    assert.ok(step !== null);
    assert.equal(await verifyTotp(app.secret, code, step), null, 'a used step is refused');
    const far = await generate({ secret: app.secret, epoch: (nowStep() + 3) * PERIOD });
    assert.equal(await verifyTotp(app.secret, far, null), null, 'three steps ahead is outside the window');
    assert.equal(await verifyTotp(app.secret, 'abcdef', null), null);
  });

  test('recovery codes: ten, distinct, stored as hashes, matched however they are typed', () => {
    const { codes, hashes } = newRecoveryCodes(10);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.ok(hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash)));
    const stored = hashes.map((code_hash, i) => ({ id: String(i), code_hash }));
    assert.equal(matchRecoveryCode(stored, ` ${codes[3]!.toLowerCase()} `)?.id, '3');
    assert.equal(normalizeRecoveryCode('abcde-fghjk'), 'ABCDEFGHJK');
    assert.equal(matchRecoveryCode(stored, 'AAAAA-AAAAA'), undefined);
  });
});

describe('MFA configuration (FR-AUTH-014, NFR-SEC-003)', () => {
  test('step-up is enforced except in tests, staff MFA is required in production, WebAuthn follows PUBLIC_URL', () => {
    const development = loadConfig({ ENVIRONMENT: 'development', PUBLIC_URL: 'https://console.example.com/' });
    assert.equal(development.stepUpEnforced, true);
    assert.equal(development.platformMfaRequired, false);
    assert.deepEqual(development.webauthn, { rpId: 'console.example.com', rpName: 'TSV Baseline', origins: ['https://console.example.com'] });
    assert.equal(loadConfig({ ENVIRONMENT: 'test' }).stepUpEnforced, false);
    assert.equal(loadConfig({ ENVIRONMENT: 'test', STEP_UP_ENFORCED: 'true' }).stepUpEnforced, true);
    const production = loadConfig({ ENVIRONMENT: 'production', SIGNING_KEY: '{}', DATABASE_URL: 'postgres://db/tsv' });
    assert.equal(production.platformMfaRequired, true);
    const custom = loadConfig({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://a.example.com, https://b.example.com' });
    assert.deepEqual([custom.webauthn.rpId, custom.webauthn.origins], ['example.com', ['https://a.example.com', 'https://b.example.com']]);
    assert.throws(() => loadConfig({ WEBAUTHN_ORIGINS: 'https://a.example.com/path' }), ConfigError);
  });
});

describe('MFA sign-in, the mfa-required challenge and its attacks (NFR-SEC-003, ERR-AUTH-461, FR-AUTH-001, FR-AUTH-010, FR-AUTH-013)', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;

  const login = (email: string, tenant = 'acme', password = TEST_PASSWORD, device?: { id: string }) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, tenant, ...(device ? { device } : {}) } });
  const verify = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload });
  const events = (action: string, userId?: string) =>
    t.db.owner
      .selectFrom('audit_events')
      .select(['category', 'severity', 'outcome', 'metadata', 'tenant_id'])
      .where('action', '=', action)
      .$if(userId !== undefined, (q) => q.where('resource_id', '=', userId!))
      .execute();
  const userId = async (email: string) => (await t.db.owner.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

  /** A user of a tenant with an active authenticator app; returns its app and recovery codes. */
  async function enrolled(email: string, tenant = 'acme') {
    await t.addUser(tenant, email, 'member');
    await verifiedEmail(t, email);
    const session = await t.login(email, tenant);
    const started = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: session.headers });
    assert.equal(started.statusCode, 200, started.body);
    const { factor_id, secret, otpauth_uri } = started.json() as { factor_id: string; secret: string; otpauth_uri: string };
    assert.match(otpauth_uri, /^otpauth:\/\/totp\//);
    const app = authenticator(secret);
    const confirmed = await t.app.inject({ method: 'POST', url: `/v1/me/mfa/totp/${factor_id}/confirm`, headers: session.headers, payload: { code: await app.next() } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    const { recovery_codes } = confirmed.json() as { recovery_codes: string[] };
    return { app, recoveryCodes: recovery_codes, session };
  }

  /** Signs in with the password and answers the challenge; the challenge problem is returned too. */
  async function challenge(email: string, tenant = 'acme'): Promise<Problem> {
    const response = await login(email, tenant);
    assert.equal(response.statusCode, 401, response.body);
    return response.json() as Problem;
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0 } } });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
  });
  after(() => t?.close());

  test('enrolment: the first factor answers ten recovery codes once; /v1/me and /v1/me/mfa show it', async () => {
    const { app, recoveryCodes, session } = await enrolled('enrol@acme.example');
    assert.equal(recoveryCodes.length, 10);
    const factor = await t.db.owner.selectFrom('mfa_factors').select('secret').where('user_id', '=', await userId('enrol@acme.example')).executeTakeFirstOrThrow();
    assert.match(factor.secret!, /^v1\./, 'the TOTP secret is stored sealed');
    assert.ok(!factor.secret!.includes(app.secret));
    const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers })).json() as { mfa_enrolled: boolean; mfa_factors: string[] };
    assert.equal(me.mfa_enrolled, true);
    assert.deepEqual(me.mfa_factors, ['totp']);
    const status = (await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: session.headers })).json() as {
      enrolled: boolean;
      factors: { kind: string; status: string }[];
      recovery_codes_remaining: number;
    };
    assert.deepEqual(status.factors.map((f) => [f.kind, f.status]), [['totp', 'active']]);
    assert.equal(status.recovery_codes_remaining, 10);
    const stored = await t.db.owner.selectFrom('mfa_recovery_codes').select('code_hash').where('user_id', '=', await userId('enrol@acme.example')).execute();
    assert.ok(stored.every((row) => !recoveryCodes.includes(row.code_hash)), 'codes are stored hashed');
    const wrong = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: session.headers });
    assert.equal(wrong.statusCode, 403, 'a second factor on an account that has one needs a step-up');
    assert.equal((wrong.json() as Problem).type, '/problems/step-up-required');
  });

  test('ERR-AUTH-461: a correct password answers 401 mfa-required; the TOTP code finishes with amr pwd+mfa+otp and mfa_at', async () => {
    const { app } = await enrolled('totp@acme.example');
    const problem = await challenge('totp@acme.example');
    assert.equal(problem.type, '/problems/mfa-required');
    assert.equal(problem.error_code, 'ERR-AUTH-461');
    assert.deepEqual(problem.methods, ['totp', 'recovery_code']);
    assert.equal(problem.expires_in, 300);
    assert.equal(problem.enrollment_required, false);
    assert.ok(problem.challenge_token!.startsWith(`${acme}.`));
    const stored = await t.db.owner.selectFrom('mfa_challenges').select('token_hash').where('purpose', '=', 'login').execute();
    assert.ok(stored.every((row) => row.token_hash !== problem.challenge_token!.split('.')[1]), 'the challenge token is stored hashed');

    const done = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
    assert.equal(done.statusCode, 200, done.body);
    const pair = done.json() as { access_token: string; refresh_token: string; device_id: string };
    const claims = decodeJwt(pair.access_token) as { amr: string[]; mfa_at: number };
    assert.deepEqual(claims.amr, ['pwd', 'mfa', 'otp']);
    assert.ok(Math.abs(claims.mfa_at - Date.now() / 1000) < 60);
    assert.ok(pair.device_id, 'the device is registered as at a password sign-in');
    // FR-AUTH-005: refresh keeps the session's amr and mfa_at.
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: pair.refresh_token } });
    const again = decodeJwt((refreshed.json() as { access_token: string }).access_token) as { amr: string[]; mfa_at: number };
    assert.deepEqual([again.amr, again.mfa_at], [claims.amr, claims.mfa_at]);
    const login_ = (await events('auth.login', undefined)).filter((e) => (e.metadata as { method?: string }).method === 'mfa');
    assert.ok(login_.length > 0);
    const reasons = (await events('auth.mfa_challenge', await userId('totp@acme.example'))).map((e) => (e.metadata as { reasons: string[] }).reasons);
    assert.ok(reasons.some((r) => r.includes('new_device')), 'FR-AUTH-010: a sign-in from a new device is recorded as such');
  });

  test('FR-AUTH-010: a sign-in from a known device is not marked new_device; an unknown one is', async () => {
    const { app } = await enrolled('device@acme.example');
    const id = await userId('device@acme.example');
    const first = await challenge('device@acme.example');
    const done = await verify({ challenge_token: first.challenge_token, totp_code: await app.next() });
    const deviceId = (done.json() as { device_id: string }).device_id;
    const known = await login('device@acme.example', 'acme', TEST_PASSWORD, { id: deviceId });
    assert.equal(known.statusCode, 401, 'an enrolled user is always asked for the factor');
    const reasons = (await events('auth.mfa_challenge', id)).map((e) => (e.metadata as { reasons: string[] }).reasons);
    assert.deepEqual(reasons, [['factor_enrolled', 'new_device'], ['factor_enrolled']]);
  });

  test('a wrong password still answers exactly as before, with no challenge', async () => {
    await enrolled('wrongpw@acme.example');
    const response = await login('wrongpw@acme.example', 'acme', 'Not-The-Passw0rd!');
    assert.equal(response.statusCode, 401);
    const body = response.json() as Problem & { challenge_token?: string };
    assert.equal(body.type, '/problems/invalid-credentials');
    assert.equal(body.challenge_token, undefined);
  });

  test('attack: replaying a code already used is refused', async () => {
    const { app } = await enrolled('replay@acme.example');
    const first = await challenge('replay@acme.example');
    assert.equal((await verify({ challenge_token: first.challenge_token, totp_code: await app.next() })).statusCode, 200);
    const second = await challenge('replay@acme.example');
    const replayed = await verify({ challenge_token: second.challenge_token, totp_code: await app.replay() });
    assert.equal(replayed.statusCode, 403, replayed.body);
    assert.equal((replayed.json() as Problem).type, '/problems/mfa-code-invalid');
    const failures = await events('auth.mfa_verify', await userId('replay@acme.example'));
    assert.ok(failures.some((e) => (e.metadata as { reason: string }).reason === 'replay'));
  });

  test('attack: a challenge token is single use; its reuse is a security event', async () => {
    const { app } = await enrolled('reuse@acme.example');
    const problem = await challenge('reuse@acme.example');
    assert.equal((await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() })).statusCode, 200);
    const reused = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
    assert.equal(reused.statusCode, 401);
    assert.equal((reused.json() as Problem).type, '/problems/mfa-challenge-invalid');
    const security = await events('security.mfa_challenge_reuse', await userId('reuse@acme.example'));
    assert.equal(security.length, 1);
    assert.equal(security[0]!.category, 'security');
  });

  test('attack: an expired challenge is refused', async () => {
    const { app } = await enrolled('expired@acme.example');
    const problem = await challenge('expired@acme.example');
    await t.db.owner.updateTable('mfa_challenges').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', await userId('expired@acme.example')).execute();
    const response = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
    assert.equal(response.statusCode, 401);
    assert.equal((response.json() as Problem).type, '/problems/mfa-challenge-invalid');
  });

  test("attack: a challenge of tenant A presented as tenant B's is not found", async () => {
    const { app } = await enrolled('crossing@acme.example');
    const problem = await challenge('crossing@acme.example');
    const secret = problem.challenge_token!.split('.')[1];
    for (const scope of [globex, 'platform']) {
      const response = await verify({ challenge_token: `${scope}.${secret}`, totp_code: '123456' });
      assert.equal(response.statusCode, 401, response.body);
      assert.equal((response.json() as Problem).type, '/problems/mfa-challenge-invalid');
    }
    assert.equal((await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() })).statusCode, 200, 'the real one still works');
  });

  test('attack: brute force past 5 attempts spends the challenge, locks the account and raises security events', async () => {
    const { app } = await enrolled('brute@acme.example');
    const id = await userId('brute@acme.example');
    const problem = await challenge('brute@acme.example');
    const lefts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await verify({ challenge_token: problem.challenge_token, totp_code: String(100000 + i) });
      assert.equal(response.statusCode, 403);
      lefts.push((response.json() as { attempts_left: number }).attempts_left);
    }
    assert.deepEqual(lefts, [4, 3, 2, 1, 0]);
    const sixth = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
    assert.equal(sixth.statusCode, 401, 'the spent challenge refuses even the right code');
    const brute = await events('security.mfa_brute_force', id);
    assert.equal(brute.length, 1);
    assert.equal(brute[0]!.severity, 'high');
    assert.equal((await events('security.account_locked', id)).length, 1, 'five failed factors lock the source out of the account (FR-AUTH-004)');
    const locked = await login('brute@acme.example');
    assert.equal(locked.statusCode, 429, 'the password is not even checked');
    assert.equal((locked.json() as Problem).type, '/problems/rate-limited', 'as for any locked login name, known or not');
  });

  test('a recovery code finishes a sign-in once, and its use is a medium security event', async () => {
    const { recoveryCodes } = await enrolled('recovery@acme.example');
    const id = await userId('recovery@acme.example');
    const problem = await challenge('recovery@acme.example');
    const done = await verify({ challenge_token: problem.challenge_token, recovery_code: recoveryCodes[0]!.toLowerCase() });
    assert.equal(done.statusCode, 200, done.body);
    const security = await events('security.recovery_code_used', id);
    assert.equal(security.length, 1);
    assert.equal(security[0]!.severity, 'medium');
    assert.equal((security[0]!.metadata as { remaining: number }).remaining, 9);
    const again = await challenge('recovery@acme.example');
    assert.equal((await verify({ challenge_token: again.challenge_token, recovery_code: recoveryCodes[0] })).statusCode, 403, 'a used code is refused');
  });

  test('exactly one factor per verify; a malformed token is refused', async () => {
    const { app, recoveryCodes } = await enrolled('onefactor@acme.example');
    const problem = await challenge('onefactor@acme.example');
    const both = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next(), recovery_code: recoveryCodes[0] });
    assert.equal(both.statusCode, 400);
    assert.equal((await verify({ challenge_token: 'not-a-token-at-all', totp_code: '123456' })).statusCode, 401);
  });

  test('tenant policy: required for all makes a user without a factor enrol during sign-in, then answers recovery codes', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const put = await t.app.inject({ method: 'PUT', url: `/v1/tenants/${acme}/mfa-policy`, headers: owner.headers, payload: { required: 'all', new_device: true } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json(), { tenant_id: acme, required: 'all', new_device: true, version: 1 });
    try {
      await t.addUser('acme', 'policy@acme.example', 'member');
      const problem = await challenge('policy@acme.example');
      assert.equal(problem.type, '/problems/mfa-required');
      assert.equal(problem.enrollment_required, true);
      assert.deepEqual(problem.methods, []);
      const enrolment = await t.app.inject({ method: 'POST', url: '/v1/auth/mfa/enroll/totp', payload: { challenge_token: problem.challenge_token } });
      assert.equal(enrolment.statusCode, 200, enrolment.body);
      const app = authenticator((enrolment.json() as { secret: string }).secret);
      const done = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal((done.json() as { recovery_codes: string[] }).recovery_codes.length, 10);
      const next = await challenge('policy@acme.example');
      assert.equal(next.enrollment_required, false);
      assert.deepEqual(next.methods, ['totp', 'recovery_code']);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/mfa/enroll/totp', payload: { challenge_token: next.challenge_token } })).statusCode, 401, 'an enrolled user cannot enrol through a challenge');

      // An invitation accepted under the policy creates the account, then asks for the enrolment.
      const role = await t.db.owner.selectFrom('roles').select('id').where('tenant_id', '=', acme).where('key', '=', 'member').executeTakeFirstOrThrow();
      const secret = randomBytes(32).toString('base64url');
      await t.db.owner
        .insertInto('invitations')
        .values({ tenant_id: acme, email: 'invited@acme.example', role_id: role.id, token_hash: createHash('sha256').update(secret).digest('hex'), expires_at: new Date(Date.now() + 86_400_000) })
        .execute();
      const accepted = await t.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token: `${acme}.${secret}`, password: 'Quiet-Harbor-Lantern-7' } });
      assert.equal(accepted.statusCode, 401, accepted.body);
      assert.equal((accepted.json() as Problem).enrollment_required, true);
      assert.ok(await userId('invited@acme.example'));
    } finally {
      await t.app.inject({ method: 'PUT', url: `/v1/tenants/${acme}/mfa-policy`, headers: owner.headers, payload: { required: 'off', new_device: true } });
    }
    const policy = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/mfa-policy`, headers: owner.headers });
    assert.equal((policy.json() as { required: string }).required, 'off');
    assert.equal((await events('mfa_policy.updated')).length, 2);
  });

  test("tenant policy 'admins' challenges owners and administrators, not members; it is the tenant's own", async () => {
    const globexOwner = await t.login('owner@globex.demo.test', 'globex');
    const put = await t.app.inject({ method: 'PUT', url: `/v1/tenants/${globex}/mfa-policy`, headers: globexOwner.headers, payload: { required: 'admins', new_device: true } });
    assert.equal(put.statusCode, 200, put.body);
    await t.addUser('globex', 'admin@globex.example', 'admin');
    await t.addUser('globex', 'member@globex.example', 'member');
    assert.equal((await challenge('admin@globex.example', 'globex')).enrollment_required, true);
    assert.equal((await login('member@globex.example', 'globex')).statusCode, 200);
    assert.equal((await login('owner@acme.demo.test')).statusCode, 200, "acme's policy is unchanged");
  });

  test('FR-AUTH-004: a reset never bypasses MFA; the link stays unused until a valid code comes with it', async () => {
    const { app } = await enrolled('reset@acme.example');
    const id = await userId('reset@acme.example');
    const secret = randomBytes(32).toString('base64url');
    const token = `${acme}.${secret}`;
    await t.db.owner
      .insertInto('password_resets')
      .values({ tenant_id: acme, user_id: id, token_hash: createHash('sha256').update(secret).digest('hex'), expires_at: new Date(Date.now() + 600_000) })
      .execute();
    const confirm = (extra: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token, new_password: 'Quiet-Harbor-Lantern-7', ...extra } });
    const missing = await confirm({});
    assert.equal(missing.statusCode, 401);
    assert.equal((missing.json() as Problem).type, '/problems/mfa-required');
    assert.equal((missing.json() as Problem).error_code, 'ERR-AUTH-461');
    const wrong = await confirm({ totp_code: '000000' });
    assert.equal(wrong.statusCode, 403);
    const unused = await t.db.owner.selectFrom('password_resets').select('used_at').where('user_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(unused.used_at, null, 'the link is not consumed');
    assert.equal((await confirm({ totp_code: await app.next() })).statusCode, 204);
    assert.equal((await login('reset@acme.example', 'acme', 'Quiet-Harbor-Lantern-7')).statusCode, 401, 'the new password still leads to the second factor');
  });

  test('removing the last factor needs a recent second factor and takes the recovery codes with it', async () => {
    const { app, session } = await enrolled('remove@acme.example');
    const status = (await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: session.headers })).json() as { factors: { id: string }[] };
    const factorId = status.factors[0]!.id;
    const refused = await t.app.inject({ method: 'DELETE', url: `/v1/me/mfa/factors/${factorId}`, headers: session.headers });
    assert.equal(refused.statusCode, 403, 'the password-only session has not stepped up');
    const stepped = await t.app.inject({ method: 'POST', url: '/v1/auth/step-up', headers: session.headers, payload: { totp_code: await app.next() } });
    assert.equal(stepped.statusCode, 200, stepped.body);
    const headers = { authorization: `Bearer ${(stepped.json() as { access_token: string }).access_token}` };
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/me/mfa/factors/${factorId}`, headers })).statusCode, 204);
    const after = (await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers })).json() as { enrolled: boolean; recovery_codes_remaining: number };
    assert.deepEqual(after, { enrolled: false, factors: [], recovery_codes_remaining: 0 });
    assert.equal((await login('remove@acme.example')).statusCode, 200, 'no factor, no challenge');
  });

  test("removing a factor ends the user's other sessions on every node, the one opened with it included; the current one stays", async () => {
    const { app, session: enrolling } = await enrolled('ends@acme.example');
    const id = await userId('ends@acme.example');
    const problem = await challenge('ends@acme.example');
    const signedIn = await verify({ challenge_token: problem.challenge_token, totp_code: await app.next() });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const withFactor = signedIn.json() as { access_token: string; refresh_token: string };
    const withFactorHeaders = { authorization: `Bearer ${withFactor.access_token}` };
    const stepped = await t.app.inject({ method: 'POST', url: '/v1/auth/step-up', headers: enrolling.headers, payload: { totp_code: await app.next() } });
    assert.equal(stepped.statusCode, 200, stepped.body);
    const current = stepped.json() as { access_token: string; refresh_token: string };
    const headers = { authorization: `Bearer ${current.access_token}` };
    const factorId = ((await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers })).json() as { factors: { id: string }[] }).factors[0]!.id;
    // A second API node has the session opened with the factor cached.
    const nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    try {
      assert.equal((await nodeB.app!.inject({ method: 'GET', url: '/v1/me', headers: withFactorHeaders })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/me/mfa/factors/${factorId}`, headers })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: withFactorHeaders })).statusCode, 401);
      await eventually(async () => (await nodeB.app!.inject({ method: 'GET', url: '/v1/me', headers: withFactorHeaders })).statusCode === 401, 2_000);
    } finally {
      await nodeB.stop();
    }
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: withFactor.refresh_token } })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers })).statusCode, 200, 'the session that removed it goes on');
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: current.refresh_token } })).statusCode, 200);
    const removed = await events('mfa.factor_removed', factorId);
    assert.equal((removed[0]!.metadata as { sessions_ended: number }).sessions_ended, 1);
    const ended = await t.db.owner.selectFrom('sessions').select('revoked_reason').where('user_id', '=', id).where('status', '=', 'revoked').execute();
    assert.deepEqual(ended, [{ revoked_reason: 'mfa_factor_removed' }]);
  });

  test('challenges of a user are kept only while they matter: expired ones go at the next sign-in', async () => {
    const { app } = await enrolled('cleanup@acme.example');
    const id = await userId('cleanup@acme.example');
    await challenge('cleanup@acme.example');
    await t.db.owner.updateTable('mfa_challenges').set({ expires_at: new Date(Date.now() - 2 * 86_400_000) }).where('user_id', '=', id).execute();
    const fresh = await challenge('cleanup@acme.example');
    const rows = await t.db.owner.selectFrom('mfa_challenges').select('id').where('user_id', '=', id).execute();
    assert.equal(rows.length, 1);
    assert.equal((await verify({ challenge_token: fresh.challenge_token, totp_code: await app.next() })).statusCode, 200);
  });

  test('platform staff: PLATFORM_MFA_REQUIRED is off here, so an operator without a factor signs in with the password', async () => {
    const session: Session = await t.login('operator@demo.test');
    const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers })).json() as { mfa_enrolled: boolean; amr: string[] };
    assert.deepEqual([me.mfa_enrolled, me.amr], [false, ['pwd']]);
  });
});

describe('PLATFORM_MFA_REQUIRED: staff enrol a second factor at sign-in (NFR-SEC-003, ERR-AUTH-461)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await buildTestPlatform({ PLATFORM_MFA_REQUIRED: 'true' }, { worker: false });
  });
  after(() => t?.close());

  test('an operator without a factor gets an enrolment challenge, in the platform scope', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'operator@demo.test', password: TEST_PASSWORD } });
    assert.equal(response.statusCode, 401, response.body);
    const problem = response.json() as Problem;
    assert.equal(problem.enrollment_required, true);
    assert.ok(problem.challenge_token!.startsWith('platform.'));
    const enrolment = await t.app.inject({ method: 'POST', url: '/v1/auth/mfa/enroll/totp', payload: { challenge_token: problem.challenge_token } });
    const app = authenticator((enrolment.json() as { secret: string }).secret);
    const done = await t.app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload: { challenge_token: problem.challenge_token, totp_code: await app.next() } });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual((decodeJwt((done.json() as { access_token: string }).access_token) as { amr: string[]; tenant_id: null }).tenant_id, null);
  });
});

describe('the mfa section of the product policy: challenge attempts and recovery codes (FR-PROD-001)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await buildTestPlatform({}, { worker: false, policy: { identity: { login_failure_delay_ms: 0 }, mfa: { challenge_attempts: 2, recovery_codes: 6 } } });
  });
  after(() => t?.close());

  test('mfa.recovery_codes sets the size of a set; mfa.challenge_attempts spends a challenge at its second wrong code', async () => {
    await t.addUser('acme', 'policy@acme.example', 'member');
    await verifiedEmail(t, 'policy@acme.example');
    const session = await t.login('policy@acme.example', 'acme');
    const started = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: session.headers });
    const { factor_id, secret } = started.json() as { factor_id: string; secret: string };
    const app = authenticator(secret);
    const confirmed = await t.app.inject({ method: 'POST', url: `/v1/me/mfa/totp/${factor_id}/confirm`, headers: session.headers, payload: { code: await app.next() } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal((confirmed.json() as { recovery_codes: string[] }).recovery_codes.length, 6);

    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'policy@acme.example', password: TEST_PASSWORD, tenant: 'acme' } });
    const { challenge_token } = login.json() as { challenge_token: string };
    const verify = (totp_code: string) => t.app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload: { challenge_token, totp_code } });
    const lefts = [];
    for (const code of ['100000', '100001']) lefts.push(((await verify(code)).json() as { attempts_left: number }).attempts_left);
    assert.deepEqual(lefts, [1, 0]);
    assert.equal((await verify(await app.next())).statusCode, 401, 'the challenge is spent after two wrong codes');
  });
});
