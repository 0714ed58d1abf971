import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, importJWK, UnsecuredJWT } from 'jose';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { CookieJar, signInAtIdp, startFakeIdp, startTestIdp, type FakeIdp, type TestIdp } from './sso.test-idp.ts';

const PUBLIC_URL = 'http://localhost:3000';
const CALLBACK = `${PUBLIC_URL}/v1/auth/sso/callback`;
const SECRETS = { acme: 'acme-client-secret-0123456789', globex: 'globex-client-secret-0123456789', platform: 'platform-client-secret-0123456789' };

describe('single sign-on over OIDC (FR-AUTH-001, FR-AUTH-003, FR-AUTH-011, FR-SYS-004, FR-RBAC-006)', () => {
  let idp: TestIdp;
  let fake: FakeIdp;
  let t: TestPlatform;
  let acmeOwner: Session;
  let globexOwner: Session;

  /** A browser: the platform's callback cookie, kept apart from the provider's cookies. */
  interface Browser {
    platformCookies: Map<string, string>;
    idp: CookieJar;
  }
  const newBrowser = (): Browser => ({ platformCookies: new Map(), idp: new CookieJar() });
  const cookieHeader = (browser: Browser) => [...browser.platformCookies].map(([k, v]) => `${k}=${v}`).join('; ');

  async function start(browser: Browser, path: string): Promise<URL> {
    const response = await t.app.inject({ method: 'GET', url: path });
    assert.equal(response.statusCode, 302, response.body);
    keepBindingCookie(browser, response.headers['set-cookie']);
    return new URL(response.headers.location as string);
  }

  /** Stores the browser-binding cookie as a browser would, after checking its attributes. */
  function keepBindingCookie(browser: Browser, setCookie: string | string[] | undefined) {
    for (const header of ([] as string[]).concat(setCookie ?? [])) {
      const [pair] = header.split(';');
      const at = pair!.indexOf('=');
      browser.platformCookies.set(pair!.slice(0, at), pair!.slice(at + 1));
      // A __Host- cookie: Secure, Path=/ and no Domain, or the browser drops it.
      assert.match(pair!, /^__Host-tsv_sso_[0-9a-f]{16}=/);
      assert.match(header, /; Secure(;|$)/);
      assert.match(header, /; Path=\/(;|$)/);
      assert.doesNotMatch(header, /Domain=/i);
      assert.match(header, /HttpOnly/);
      assert.match(header, /SameSite=Lax/);
    }
  }

  /** The callback as the browser opens it; returns the console URL it is sent to. */
  async function callback(browser: Browser, url: URL): Promise<URLSearchParams> {
    const response = await t.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { cookie: cookieHeader(browser) } });
    assert.equal(response.statusCode, 302, response.body);
    const location = response.headers.location as string;
    assert.ok(location.startsWith(`${PUBLIC_URL}/#/sso-complete?`), location);
    return new URLSearchParams(location.slice(location.indexOf('?') + 1));
  }

  async function exchange(code: string) {
    return t.app.inject({ method: 'POST', url: '/v1/auth/sso/exchange', payload: { code } });
  }

  /** A whole sign-in: start, the provider's login and consent, callback, exchange. */
  async function signIn(path: string, accountId: string, amr?: string[]) {
    const browser = newBrowser();
    idp.nextLogin = { accountId, ...(amr ? { amr } : {}) };
    const authorization = await start(browser, path);
    const back = await signInAtIdp(authorization.toString(), CALLBACK, browser.idp);
    const result = await callback(browser, back);
    const code = result.get('code');
    if (!code) return { error: result.get('error'), tokens: null, me: null };
    const tokens = await exchange(code);
    assert.equal(tokens.statusCode, 200, tokens.body);
    const body = tokens.json() as { access_token: string };
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${body.access_token}` } });
    return { error: null, code, tokens: body, me: me.json() as { id: string; email: string; tenant_id: string | null; roles: string[]; permissions: string[]; amr: string[] } };
  }

  /** acme's settings as the first test saves them (the stored secret is kept when omitted). */
  const acmeSso = () => ({ issuer: idp.issuer, client_id: 'acme-client', allowed_domains: ['acme.test', 'acme.demo.test'], enabled: true, default_role: 'member' });

  async function configure(session: Session, tenant: string, body: Record<string, unknown>) {
    return t.app.inject({ method: 'PUT', url: `/v1/tenants/${t.tenants[tenant]!.id}/sso`, headers: session.headers, payload: body });
  }

  async function events(action: string, chain: string | null) {
    return t.db.owner
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', action)
      .where('chain_id', '=', chain ?? PLATFORM_CHAIN)
      .orderBy('seq')
      .execute();
  }

  before(async () => {
    idp = await startTestIdp([
      { client_id: 'acme-client', client_secret: SECRETS.acme, redirect_uri: CALLBACK },
      { client_id: 'globex-client', client_secret: SECRETS.globex, redirect_uri: CALLBACK },
      { client_id: 'platform-client', client_secret: SECRETS.platform, redirect_uri: CALLBACK },
    ]);
    fake = await startFakeIdp();
    idp.accounts.set('alice-sub', { email: 'alice@acme.test', email_verified: true, name: 'Alice' });
    idp.accounts.set('member-sub', { email: 'member@acme.demo.test', email_verified: true });
    idp.accounts.set('member-twin-sub', { email: 'member@acme.demo.test', email_verified: true });
    idp.accounts.set('owner-sub', { email: 'owner@acme.demo.test', email_verified: true });
    idp.accounts.set('guarded-sub', { email: 'guarded@acme.demo.test', email_verified: true });
    idp.accounts.set('stranger-sub', { email: 'stranger@acme.test', email_verified: true });
    idp.accounts.set('unverified-sub', { email: 'mallory@acme.test', email_verified: false });
    idp.accounts.set('outsider-sub', { email: 'eve@elsewhere.test', email_verified: true });
    idp.accounts.set('ops-sub', { email: 'ops@staff.test', email_verified: true, groups: ['staff'] });
    idp.accounts.set('boss-sub', { email: 'boss@staff.test', email_verified: true, groups: ['staff', 'tsv-super-admins'] });
    t = await buildTestPlatform(
      {
        PUBLIC_URL,
        OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
        PLATFORM_OIDC_ISSUER: idp.issuer,
        PLATFORM_OIDC_CLIENT_ID: 'platform-client',
        PLATFORM_OIDC_CLIENT_SECRET: SECRETS.platform,
        PLATFORM_OIDC_ALLOWED_DOMAINS: 'staff.test',
        PLATFORM_OIDC_SUPER_ADMIN_GROUP: 'tsv-super-admins',
      },
      { worker: false },
    );
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
  });
  after(async () => {
    await t?.close();
    await idp?.close();
    await fake?.close();
  });

  test('FR-AUTH-003: an Owner registers the IdP after discovery checks out; the secret is sealed, never shown or audited', async () => {
    const saved = await configure(acmeOwner, 'acme', { ...acmeSso(), client_secret: SECRETS.acme });
    assert.equal(saved.statusCode, 200, saved.body);
    const body = saved.json() as Record<string, unknown>;
    assert.equal(body.client_secret_set, true);
    assert.equal(body.redirect_uri, CALLBACK);
    assert.ok(!saved.body.includes(SECRETS.acme));
    const read = await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/sso`, headers: acmeOwner.headers });
    assert.equal(read.statusCode, 200);
    assert.ok(!read.body.includes(SECRETS.acme));
    const row = await t.db.owner.selectFrom('tenant_sso_configs').selectAll().where('tenant_id', '=', t.tenants.acme!.id).executeTakeFirstOrThrow();
    assert.match(row.client_secret_sealed, /^v1\./);
    assert.ok(!row.client_secret_sealed.includes(SECRETS.acme));
    const [event] = await events('sso.configured', t.tenants.acme!.id);
    assert.ok(event);
    assert.ok(!JSON.stringify(event.metadata).includes(SECRETS.acme));
    // The stored secret never goes to another provider: a new issuer needs the secret again.
    const moved = await configure(acmeOwner, 'acme', { issuer: fake.issuer, client_id: 'acme-client', allowed_domains: ['acme.test'], enabled: true, default_role: 'member' });
    assert.equal(moved.statusCode, 400, moved.body);
    // Owner only: an Administrator may not change who controls sign-in.
    await t.addUser('acme', 'admin-sso@acme.demo.test', 'admin');
    const admin = await t.login('admin-sso@acme.demo.test', 'acme');
    const refused = await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/sso`, headers: admin.headers });
    assert.equal(refused.statusCode, 403);
  });

  test('FR-AUTH-003, CON-SEC-009: an unusable IdP is a 422 problem saying what is wrong, and nothing is saved', async () => {
    const base = { client_id: 'globex-client', client_secret: SECRETS.globex, allowed_domains: ['globex.test'], enabled: true, default_role: 'member' };
    const cases: [string, string, RegExp][] = [];
    fake.claimedIssuer = 'https://someone-else.example';
    cases.push(['issuer mismatch', fake.issuer, /names the issuer/]);
    for (const [name, issuer, pattern] of cases) {
      const response = await configure(globexOwner, 'globex', { ...base, issuer });
      assert.equal(response.statusCode, 422, `${name}: ${response.body}`);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.match((response.json() as { detail: string }).detail, pattern);
    }
    fake.claimedIssuer = null;
    fake.redirectDiscoveryTo = 'http://169.254.169.254/latest/meta-data/';
    const redirected = await configure(globexOwner, 'globex', { ...base, issuer: fake.issuer });
    assert.equal(redirected.statusCode, 422, redirected.body);
    assert.match((redirected.json() as { detail: string }).detail, /redirect/);
    fake.redirectDiscoveryTo = null;
    // SSRF through the issuer: loopback that is not allow-listed, the metadata address, plain http.
    const port = new URL(idp.issuer).port;
    for (const [issuer, pattern] of [
      [`https://127.0.0.2:${port}`, /not allowed/],
      [`https://[::1]:${port}`, /not allowed/],
      ['https://169.254.169.254', /not allowed/],
      [`http://localhost:${port}`, /https/],
    ] as const) {
      const response = await configure(globexOwner, 'globex', { ...base, issuer });
      assert.equal(response.statusCode, 422, `${issuer}: ${response.body}`);
      assert.match((response.json() as { detail: string }).detail, pattern, issuer);
    }
    const row = await t.db.owner.selectFrom('tenant_sso_configs').selectAll().where('tenant_id', '=', t.tenants.globex!.id).executeTakeFirst();
    assert.equal(row, undefined, 'nothing saved');
    assert.deepEqual(await events('sso.configured', t.tenants.globex!.id), []);
  });

  test('FR-AUTH-001: whether an organization has SSO, and nothing more', async () => {
    const acme = await t.app.inject({ method: 'GET', url: '/v1/auth/sso/acme' });
    assert.deepEqual(acme.json(), { enabled: true });
    for (const slug of ['globex', 'no-such-org']) {
      assert.deepEqual((await t.app.inject({ method: 'GET', url: `/v1/auth/sso/${slug}` })).json(), { enabled: false });
    }
  });

  test('FR-AUTH-001: code flow with PKCE S256, state and nonce; JIT user with the default role; the second sign-in is the same user', async () => {
    const browser = newBrowser();
    const authorization = await start(browser, '/v1/auth/sso/acme/start');
    assert.equal(authorization.searchParams.get('response_type'), 'code');
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorization.searchParams.get('state') && authorization.searchParams.get('nonce') && authorization.searchParams.get('code_challenge'));
    assert.equal(authorization.searchParams.get('redirect_uri'), CALLBACK);

    const first = await signIn('/v1/auth/sso/acme/start', 'alice-sub');
    assert.equal(first.error, null);
    assert.equal(first.me!.email, 'alice@acme.test');
    assert.equal(first.me!.tenant_id, t.tenants.acme!.id);
    assert.deepEqual(first.me!.roles, ['member']);
    assert.deepEqual(first.me!.amr, ['fed']);
    const user = await t.db.owner.selectFrom('users').selectAll().where('id', '=', first.me!.id).executeTakeFirstOrThrow();
    assert.equal(user.password_hash, null);
    const provisioned = await events('user.provisioned', t.tenants.acme!.id);
    assert.equal(provisioned.at(-1)?.resource_id, first.me!.id);
    const logins = await events('auth.login', t.tenants.acme!.id);
    assert.deepEqual(logins.at(-1)?.metadata, { method: 'sso', amr: ['fed'] });

    // The code is single-use: a second exchange is refused and recorded as a security event.
    const again = await exchange(first.code!);
    assert.equal(again.statusCode, 401);
    assert.equal((again.json() as { type: string }).type, '/problems/sso-code-invalid');
    assert.equal((await events('security.sso_state_invalid', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'code_replayed');

    // The provider proved a second factor: the session says so.
    const second = await signIn('/v1/auth/sso/acme/start', 'alice-sub', ['pwd', 'mfa']);
    assert.equal(second.me!.id, first.me!.id);
    assert.deepEqual(second.me!.amr, ['fed', 'mfa']);
    const links = await t.db.owner.selectFrom('user_identities').selectAll().where('user_id', '=', first.me!.id).execute();
    assert.equal(links.length, 1);
  });

  test('FR-AUTH-001: an existing account is not linked by address unless the organization trusts its provider to', async () => {
    const memberId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'member@acme.demo.test').executeTakeFirstOrThrow()).id;
    const refused = await signIn('/v1/auth/sso/acme/start', 'member-sub');
    assert.equal(refused.error, 'account_link_required');
    assert.equal((await events('auth.login', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'link_not_trusted');
    assert.deepEqual(await t.db.owner.selectFrom('user_identities').select('id').where('user_id', '=', memberId).execute(), []);

    // The Owner trusts the provider to link accounts by address: a change of the SSO settings, so step-up applies.
    const current = (await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/sso`, headers: acmeOwner.headers })).json() as { version: number; link_existing_accounts: boolean };
    assert.equal(current.link_existing_accounts, false, 'off by default');
    const trusted = await configure(acmeOwner, 'acme', { ...acmeSso(), link_existing_accounts: true, version: current.version });
    assert.equal(trusted.statusCode, 200, trusted.body);
    assert.equal((trusted.json() as { link_existing_accounts: boolean }).link_existing_accounts, true);
    assert.equal((await events('sso.configured', t.tenants.acme!.id)).at(-1)?.metadata.link_existing_accounts, true);
    assert.ok(t.running.routes.some((route) => route.url === '/v1/tenants/:tenantId/sso' && route.method.includes('PUT') && route.stepUp));

    const linked = await signIn('/v1/auth/sso/acme/start', 'member-sub');
    assert.equal(linked.me!.id, memberId);
    assert.equal((await events('user.identity_linked', t.tenants.acme!.id)).at(-1)?.metadata.linked_by, 'address');
    // A second subject for the same account is refused.
    const twin = await signIn('/v1/auth/sso/acme/start', 'member-twin-sub');
    assert.equal(twin.error, 'not_allowed');
    const refusals = await events('auth.login', t.tenants.acme!.id);
    assert.equal(refusals.at(-1)?.metadata.reason, 'identity_conflict');
  });

  test('FR-AUTH-001: trust never links an account with a second factor or a sensitive permission (an Owner) by address', async () => {
    const guardedId = await t.addUser('acme', 'guarded@acme.demo.test', 'member');
    await t.db.owner
      .insertInto('mfa_factors')
      .values({ tenant_id: t.tenants.acme!.id, user_id: guardedId, kind: 'webauthn', name: 'Security key', status: 'active', credential_id: 'guarded-credential', public_key: 'guarded-key' })
      .execute();
    const ownerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@acme.demo.test').executeTakeFirstOrThrow()).id;
    for (const [account, userId] of [['guarded-sub', guardedId], ['owner-sub', ownerId]] as const) {
      const result = await signIn('/v1/auth/sso/acme/start', account);
      assert.equal(result.error, 'account_link_required', account);
      assert.equal((await events('auth.login', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'link_needs_proof');
      assert.deepEqual(await t.db.owner.selectFrom('user_identities').select('id').where('user_id', '=', userId).execute(), [], account);
    }
    const sessions = await t.db.owner.selectFrom('sessions').select('amr').where('user_id', 'in', [guardedId, ownerId]).execute();
    assert.deepEqual(sessions.filter((session) => session.amr.includes('fed')), []);
  });

  describe('linking from the signed-in account (the proof path)', () => {
    /** Starts a link as `session` from `browser`; the answer, and the provider URL with the cookie kept. */
    async function startLink(session: Session, browser: Browser) {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/sso/link', headers: session.headers });
      if (response.statusCode === 200) keepBindingCookie(browser, response.headers['set-cookie']);
      return response;
    }

    async function linkAs(session: Session, accountId: string) {
      const browser = newBrowser();
      const started = await startLink(session, browser);
      assert.equal(started.statusCode, 200, started.body);
      idp.nextLogin = { accountId };
      const back = await signInAtIdp((started.json() as { location: string }).location, CALLBACK, browser.idp);
      return callback(browser, back);
    }

    test('an Owner signed in with the password links the provider subject of the same address; SSO then signs the Owner in', async () => {
      const ownerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'owner@acme.demo.test').executeTakeFirstOrThrow()).id;
      const result = await linkAs(acmeOwner, 'owner-sub');
      assert.equal(result.get('linked'), '1', result.toString());
      assert.equal(result.get('code'), null, 'no new session');
      const link = await t.db.owner.selectFrom('user_identities').selectAll().where('user_id', '=', ownerId).executeTakeFirstOrThrow();
      assert.equal(link.subject, 'owner-sub');
      assert.equal((await events('user.identity_linked', t.tenants.acme!.id)).at(-1)?.metadata.linked_by, 'account');
      const signedIn = await signIn('/v1/auth/sso/acme/start', 'owner-sub');
      assert.equal(signedIn.me!.id, ownerId);
      // Linked once: a second link is a 409.
      const again = await startLink(acmeOwner, newBrowser());
      assert.equal(again.statusCode, 409, again.body);
    });

    test("a provider subject with another address, or one linked to someone else, is not linked", async () => {
      await t.addUser('acme', 'linker@acme.demo.test', 'member');
      const linker = await t.login('linker@acme.demo.test', 'acme');
      const linkerId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'linker@acme.demo.test').executeTakeFirstOrThrow()).id;
      assert.equal((await linkAs(linker, 'stranger-sub')).get('error'), 'not_allowed');
      assert.equal((await events('auth.login', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'link_email_mismatch');
      assert.equal((await linkAs(linker, 'alice-sub')).get('error'), 'not_allowed');
      assert.equal((await events('auth.login', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'identity_conflict');
      assert.deepEqual(await t.db.owner.selectFrom('user_identities').select('id').where('user_id', '=', linkerId).execute(), []);
      assert.equal(await t.db.owner.selectFrom('users').select('id').where('email', '=', 'stranger@acme.test').executeTakeFirst(), undefined);
    });

    test('an account with a second factor must have proven it recently; anonymous callers are refused', async () => {
      await t.addUser('acme', 'late-mfa@acme.demo.test', 'member');
      // Signed in with the password only, then a factor enrolled: the session never proved it.
      const session = await t.login('late-mfa@acme.demo.test', 'acme');
      const userId = (await t.db.owner.selectFrom('users').select('id').where('email', '=', 'late-mfa@acme.demo.test').executeTakeFirstOrThrow()).id;
      await t.db.owner
        .insertInto('mfa_factors')
        .values({ tenant_id: t.tenants.acme!.id, user_id: userId, kind: 'webauthn', name: 'Security key', status: 'active', credential_id: 'late-credential', public_key: 'late-key' })
        .execute();
      const refused = await startLink(session, newBrowser());
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal((refused.json() as { type: string }).type, '/problems/step-up-required');
      assert.equal(refused.headers['set-cookie'], undefined);
      const anonymous = await t.app.inject({ method: 'POST', url: '/v1/auth/sso/link' });
      assert.equal(anonymous.statusCode, 401);
    });
  });

  test('FR-AUTH-001: an unverified address or a domain that is not allowed creates nobody', async () => {
    for (const [account, reason] of [['unverified-sub', 'email_not_verified'], ['outsider-sub', 'domain_not_allowed']] as const) {
      const result = await signIn('/v1/auth/sso/acme/start', account);
      assert.equal(result.error, 'not_allowed');
      assert.equal((await events('auth.login', t.tenants.acme!.id)).at(-1)?.metadata.reason, reason);
    }
    const created = await t.db.owner.selectFrom('users').select('id').where('email', 'in', ['mallory@acme.test', 'eve@elsewhere.test']).execute();
    assert.deepEqual(created, []);
  });

  test('CON-SEC-009: a forged, replayed or foreign-browser state is refused and recorded as a security event', async () => {
    const browser = newBrowser();
    idp.nextLogin = { accountId: 'alice-sub' };
    const back = await signInAtIdp((await start(browser, '/v1/auth/sso/acme/start')).toString(), CALLBACK, browser.idp);

    // Another browser (no binding cookie) opening the callback: login CSRF.
    assert.equal((await callback(newBrowser(), back)).get('error'), 'state_invalid');
    const mismatch = await events('security.sso_state_invalid', t.tenants.acme!.id);
    assert.equal(mismatch.at(-1)?.metadata.reason, 'browser_mismatch');
    assert.equal(mismatch.at(-1)?.severity, 'high');

    // The same callback again, now from the right browser: the state was used.
    assert.equal((await callback(browser, back)).get('error'), 'state_invalid');
    assert.equal((await events('security.sso_state_invalid', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'state_replayed');

    // A state that was never issued.
    const forged = new URL(back);
    forged.searchParams.set('state', `${t.tenants.acme!.id}.${'A'.repeat(43)}`);
    assert.equal((await callback(browser, forged)).get('error'), 'state_invalid');
    assert.equal((await events('security.sso_state_invalid', t.tenants.acme!.id)).at(-1)?.metadata.reason, 'state_unknown');
    forged.searchParams.set('state', 'garbage');
    assert.equal((await callback(browser, forged)).get('error'), 'state_invalid');
    assert.equal((await events('security.sso_state_invalid', null)).at(-1)?.metadata.reason, 'state_malformed');
  });

  test("FR-AUTH-003: a subject of tenant A's provider never signs into tenant B", async () => {
    const saved = await configure(globexOwner, 'globex', {
      issuer: idp.issuer,
      client_id: 'globex-client',
      client_secret: SECRETS.globex,
      allowed_domains: ['globex.test'],
      enabled: true,
      default_role: 'readonly',
    });
    assert.equal(saved.statusCode, 200, saved.body);
    // Alice, linked in acme, at globex's provider: her domain is not globex's, and acme's link means nothing there.
    const alice = await signIn('/v1/auth/sso/globex/start', 'alice-sub');
    assert.equal(alice.error, 'not_allowed');
    const globexLinks = await t.db.owner.selectFrom('user_identities').selectAll().where('tenant_id', '=', t.tenants.globex!.id).execute();
    assert.deepEqual(globexLinks, []);

    // A code that acme's sign-in obtained, presented with globex's state: refused at the token endpoint.
    const acmeBrowser = newBrowser();
    idp.nextLogin = { accountId: 'alice-sub' };
    const acmeBack = await signInAtIdp((await start(acmeBrowser, '/v1/auth/sso/acme/start')).toString(), CALLBACK, acmeBrowser.idp);
    const globexBrowser = newBrowser();
    const globexAuthorization = await start(globexBrowser, '/v1/auth/sso/globex/start');
    const spliced = new URL(acmeBack);
    spliced.searchParams.set('state', globexAuthorization.searchParams.get('state')!);
    const result = await callback(globexBrowser, spliced);
    assert.equal(result.get('error'), 'provider_error');
    assert.equal((await events('auth.login', t.tenants.globex!.id)).at(-1)?.outcome, 'failure');
    const sessions = await t.db.owner.selectFrom('sessions').select('amr').where('tenant_id', '=', t.tenants.globex!.id).execute();
    assert.deepEqual(sessions.filter((session) => session.amr.includes('fed')), []);
  });

  test('FR-AUTH-011, FR-SYS-004: staff sign in with the company provider; the first sign-in provisions them with the default platform role', async () => {
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/auth/platform-sso' })).json(), { enabled: true });
    const ops = await signIn('/v1/auth/platform-sso/start', 'ops-sub');
    assert.equal(ops.error, null);
    assert.equal(ops.me!.tenant_id, null);
    assert.deepEqual(ops.me!.roles, ['support']);
    const user = await t.db.owner.selectFrom('users').selectAll().where('id', '=', ops.me!.id).executeTakeFirstOrThrow();
    assert.equal(user.tenant_id, null);
    assert.equal(user.platform_role, 'support');
    const provisioned = await events('user.provisioned', null);
    assert.equal(provisioned.at(-1)?.resource_id, ops.me!.id);
    assert.equal(provisioned.at(-1)?.tenant_id, null);
    const again = await signIn('/v1/auth/platform-sso/start', 'ops-sub');
    assert.equal(again.me!.id, ops.me!.id);
    // A tenant's provider subject is not staff: alice is not in the staff domain.
    const alice = await signIn('/v1/auth/platform-sso/start', 'alice-sub');
    assert.equal(alice.error, 'not_allowed');
  });

  test("FR-RBAC-006: a member of the provider's super admin group gets an elevated session, never a stored role", async () => {
    const boss = await signIn('/v1/auth/platform-sso/start', 'boss-sub');
    assert.equal(boss.error, null);
    const session = await t.db.owner.selectFrom('sessions').selectAll().where('user_id', '=', boss.me!.id).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    assert.equal(session.elevated_role, 'super_admin');
    // Super Admin's permissions, beyond those of Support.
    assert.ok(boss.me!.permissions.includes('platform.switches.write'), JSON.stringify(boss.me!.permissions));
    const user = await t.db.owner.selectFrom('users').selectAll().where('id', '=', boss.me!.id).executeTakeFirstOrThrow();
    assert.equal(user.platform_role, 'support');
    const granted = await events('security.super_admin_granted', null);
    assert.equal(granted.at(-1)?.actor_id, boss.me!.id);
    assert.deepEqual(granted.at(-1)?.metadata, { source: 'identity_provider_group' });
    const ops = await signIn('/v1/auth/platform-sso/start', 'ops-sub');
    assert.ok(!ops.me!.permissions.includes('platform.switches.write'));
  });

  describe('an identity provider that is down is a distinct, retryable error, never a forged token (FR-AUTH-001)', () => {
    let down: TestIdp;
    const CLIENT = 'globex-outage-client';
    const SECRET = 'globex-outage-secret-0123456789';

    before(async () => {
      down = await startTestIdp([{ client_id: CLIENT, client_secret: SECRET, redirect_uri: CALLBACK }]);
      down.accounts.set('grace-sub', { email: 'grace@globex.test', email_verified: true });
      const saved = await configure(globexOwner, 'globex', { issuer: down.issuer, client_id: CLIENT, client_secret: SECRET, allowed_domains: ['globex.test'], enabled: true, default_role: 'member' });
      assert.equal(saved.statusCode, 200, saved.body);
    });
    after(async () => {
      await down?.close().catch(() => undefined);
    });

    /** The sign-in up to the provider's redirect back, then `outage`, then the callback. */
    async function signInThrough(outage: () => Promise<void> | void) {
      const browser = newBrowser();
      down.nextLogin = { accountId: 'grace-sub' };
      const back = await signInAtIdp((await start(browser, '/v1/auth/sso/globex/start')).toString(), CALLBACK, browser.idp);
      await outage();
      return callback(browser, back);
    }

    const highSecurityEvents = async () => (await events('auth.login', t.tenants.globex!.id)).filter((event) => event.severity === 'high').length;

    test('the token endpoint answering 503 with an error page: idp_unavailable, audited, no security event', async () => {
      const before = await highSecurityEvents();
      const result = await signInThrough(() => {
        down.tokenEndpointStatus = 503;
      });
      down.tokenEndpointStatus = null;
      assert.equal(result.get('error'), 'idp_unavailable');
      const failure = (await events('auth.login', t.tenants.globex!.id)).at(-1)!;
      assert.equal(failure.outcome, 'failure');
      assert.equal(failure.metadata.reason, 'provider_unavailable');
      assert.equal(await highSecurityEvents(), before);
      // Once the provider is back, signing in again works.
      const again = await signInThrough(() => undefined);
      assert.ok(again.get('code'), again.toString());
    });

    test('the provider stopped between its redirect and the callback, then at the start: idp_unavailable', async () => {
      const before = await highSecurityEvents();
      const result = await signInThrough(() => down.close());
      assert.equal(result.get('error'), 'idp_unavailable');
      assert.equal((await events('auth.login', t.tenants.globex!.id)).at(-1)?.metadata.reason, 'outbound_network');
      assert.equal(await highSecurityEvents(), before);
      const started = await t.app.inject({ method: 'GET', url: '/v1/auth/sso/globex/start' });
      assert.equal(started.statusCode, 302);
      assert.equal(started.headers.location, `${PUBLIC_URL}/#/sso-complete?error=idp_unavailable`);
      assert.equal(started.headers['set-cookie'], undefined);
    });
  });

  describe('crafted ID tokens from a provider under test control (FR-AUTH-001, CON-SEC-009)', () => {
    const CLIENT = 'fake-client';
    const SECRET = 'fake-client-secret-0123456789';

    /** Starts a globex sign-in at the fake provider; returns the browser and the nonce and state it was given. */
    async function begin() {
      const browser = newBrowser();
      const authorization = await start(browser, '/v1/auth/sso/globex/start');
      assert.ok(authorization.toString().startsWith(fake.issuer), authorization.toString());
      return { browser, state: authorization.searchParams.get('state')!, nonce: authorization.searchParams.get('nonce')! };
    }

    async function present(idToken: string, flow: Awaited<ReturnType<typeof begin>>) {
      fake.idToken = idToken;
      const url = new URL(CALLBACK);
      url.searchParams.set('code', 'any-code');
      url.searchParams.set('state', flow.state);
      return callback(flow.browser, url);
    }

    const claims = (nonce: string, extra: Record<string, unknown> = {}) => ({ sub: 'fake-sub', email: 'frank@globex.test', email_verified: true, nonce, ...extra });
    const rs256 = async (payload: Record<string, unknown>, audience = CLIENT, issuer = fake.issuer) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-rs256' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await importJWK(fake.privateJwk, 'RS256'));

    before(async () => {
      // HS256 advertised too: the refusal below is the platform's own, not the library's.
      fake.algorithms = ['RS256', 'HS256'];
      const saved = await configure(globexOwner, 'globex', {
        issuer: fake.issuer,
        client_id: CLIENT,
        client_secret: SECRET,
        allowed_domains: ['globex.test'],
        enabled: true,
        default_role: 'readonly',
      });
      assert.equal(saved.statusCode, 200, saved.body);
    });

    test('a correctly signed token signs in (the control case)', async () => {
      const flow = await begin();
      const result = await present(await rs256(claims(flow.nonce)), flow);
      assert.ok(result.get('code'), result.toString());
    });

    test('wrong audience is refused', async () => {
      const flow = await begin();
      assert.equal((await present(await rs256(claims(flow.nonce), 'another-client'), flow)).get('error'), 'id_token_invalid');
    });

    test('wrong nonce is refused', async () => {
      const flow = await begin();
      assert.equal((await present(await rs256(claims('not-the-nonce')), flow)).get('error'), 'id_token_invalid');
    });

    test('another issuer is refused', async () => {
      const flow = await begin();
      assert.equal((await present(await rs256(claims(flow.nonce), CLIENT, 'https://evil.example'), flow)).get('error'), 'id_token_invalid');
    });

    test('alg confusion: HS256 with the client secret as the key is refused', async () => {
      const flow = await begin();
      const token = await new SignJWT(claims(flow.nonce))
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(fake.issuer)
        .setAudience(CLIENT)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SECRET));
      assert.equal((await present(token, flow)).get('error'), 'id_token_invalid');
      const refused = await events('auth.login', t.tenants.globex!.id);
      assert.equal(refused.at(-1)?.category, 'security');
      assert.equal(refused.at(-1)?.metadata.reason, 'id_token_alg');
    });

    test('alg none is refused', async () => {
      const flow = await begin();
      const token = new UnsecuredJWT(claims(flow.nonce)).setIssuer(fake.issuer).setAudience(CLIENT).setIssuedAt().setExpirationTime('5m').encode();
      assert.equal((await present(token, flow)).get('error'), 'id_token_invalid');
      const users = await t.db.owner.selectFrom('users').select('id').where('email', '=', 'frank@globex.test').execute();
      assert.equal(users.length, 1, 'only the control case created frank');
    });
  });
});
