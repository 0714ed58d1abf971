// Identity providers for the SSO tests: a real oidc-provider on 127.0.0.1 whose login and consent
// complete at once with the account the test chose, and a hand-written provider that serves a
// discovery document and answers the token endpoint with whatever ID token a test crafted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface TestAccount {
  email: string;
  email_verified: boolean;
  name?: string;
  groups?: string[];
}

export interface TestIdp {
  issuer: string;
  accounts: Map<string, TestAccount>;
  /** Who signs in at the next login interaction, and with which methods (RFC 8176 amr). */
  nextLogin: { accountId: string; amr?: string[] };
  /** While set, the token endpoint answers with this HTTP status and an error page (an outage). */
  tokenEndpointStatus: number | null;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function signingJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
}

export async function startTestIdp(clients: { client_id: string; client_secret: string; redirect_uri: string }[]): Promise<TestIdp> {
  const server = http.createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map<string, TestAccount>();
  const idp: TestIdp = {
    issuer,
    accounts,
    nextLogin: { accountId: '' },
    tokenEndpointStatus: null,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: [c.redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [await signingJwk()] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    claims: { acr: null, amr: null, sid: null, auth_time: null, iss: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // The claims of the requested scopes go into the ID token, which is what the platform reads.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (idp.tokenEndpointStatus && req.url?.startsWith('/token')) {
      return void res.writeHead(idp.tokenEndpointStatus, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
    }
    if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
    void (async () => {
      const interaction = await provider.interactionDetails(req, res);
      const { prompt, params, session } = interaction;
      if (prompt.name === 'login') {
        const { accountId, amr } = idp.nextLogin;
        return provider.interactionFinished(req, res, { login: { accountId, ...(amr ? { amr } : {}) } }, { mergeWithLastSubmission: false });
      }
      const grant = interaction.grantId
        ? (await provider.Grant.find(interaction.grantId))!
        : new provider.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
      const details = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: interaction.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return idp;
}

/** A minimal cookie jar for one origin. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  store(response: Response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /max-age=0/i.test(header) || /expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Follows the identity provider's redirects by hand (login and consent complete at once) until it
 * sends the browser back to `stopAt`; returns that URL.
 */
export async function signInAtIdp(authorizationUrl: string, stopAt: string, jar = new CookieJar()): Promise<URL> {
  let url = authorizationUrl;
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.startsWith(stopAt)) return new URL(url);
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(response);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`the identity provider stopped at ${url}: ${response.status} ${await response.text()}`);
    }
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects at the identity provider');
}

/** A provider that says what the test wants: for discovery flaws and crafted ID tokens. */
export interface FakeIdp {
  issuer: string;
  /** The issuer the discovery document names (default: the real one). */
  claimedIssuer: string | null;
  /** Discovery answers with a redirect to this URL instead of the document. */
  redirectDiscoveryTo: string | null;
  algorithms: string[];
  /** The ID token the token endpoint returns next. */
  idToken: string;
  privateJwk: JWK;
  close(): Promise<void>;
}

export async function startFakeIdp(): Promise<FakeIdp> {
  const server = http.createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const privateJwk = await signingJwk();
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const fake: FakeIdp = {
    issuer,
    claimedIssuer: null,
    redirectDiscoveryTo: null,
    algorithms: ['RS256'],
    idToken: '',
    privateJwk,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req, res) => {
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      if (fake.redirectDiscoveryTo) return void res.writeHead(302, { location: fake.redirectDiscoveryTo }).end();
      return json({
        issuer: fake.claimedIssuer ?? issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: fake.algorithms,
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        subject_types_supported: ['public'],
      });
    }
    if (req.url === '/jwks') return json({ keys: [publicJwk] });
    if (req.url === '/token' && req.method === 'POST') {
      req.resume();
      req.on('end', () => json({ access_token: 'fake-access-token', token_type: 'Bearer', expires_in: 60, id_token: fake.idToken }));
      return;
    }
    res.writeHead(404).end();
  });
  return fake;
}
