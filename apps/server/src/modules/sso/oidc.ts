import * as client from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { checkScheme, OutboundError, type OutboundFetch } from '../../kernel/outbound-fetch.ts';

/**
 * The relying-party side of OIDC: discovery validated before anything trusts it, the authorization
 * URL (code flow, PKCE S256, state, nonce), and the code exchange with an ID token verified here,
 * in full, whatever the library does: issuer, audience, nonce, expiry and a signature by a key of
 * the provider's JWKS with an asymmetric algorithm the provider advertises. Every call goes through
 * the SSRF-guarded fetch.
 */

/** Asymmetric JWS algorithms only: no `none`, and no HS* (the client secret would be the key). */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Reasons that say the provider is down or overloaded rather than wrong. */
const UNAVAILABLE_REASONS = new Set(['outbound_timeout', 'outbound_network', 'provider_unavailable']);

/** What is wrong with a provider or a sign-in, in words an administrator can act on. */
export class ProviderError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  /** The provider could not be reached, or failed on its side: the same sign-in may work later. */
  get unavailable(): boolean {
    return UNAVAILABLE_REASONS.has(this.reason);
  }
}

/** An HTTP status that says the provider is failing or overloaded, not that the request was wrong. */
const isOutageStatus = (status: number) => status >= 500 || status === 429;

export interface Provider {
  metadata: client.ServerMetadata;
  /** The signing algorithms accepted for ID tokens: advertised and asymmetric. */
  algorithms: string[];
  jwks: JSONWebKeySet;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

const OUTBOUND_MESSAGES: Record<OutboundError['reason'], string> = {
  scheme: 'must use https',
  address: 'resolves to an address that is not allowed (private, loopback, link-local or otherwise internal)',
  redirect: 'answered with a redirect, which is not followed',
  too_large: 'answered with a document that is too large',
  timeout: 'did not answer in time',
  network: 'could not be reached',
};

async function fetchJson(fetch: OutboundFetch, url: string, what: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    if (error instanceof OutboundError) throw new ProviderError(`outbound_${error.reason}`, `The ${what} (${url}) ${OUTBOUND_MESSAGES[error.reason]}.`);
    throw error;
  }
  if (response.status !== 200) {
    throw new ProviderError(isOutageStatus(response.status) ? 'provider_unavailable' : 'http_status', `The ${what} (${url}) answered HTTP ${response.status}.`);
  }
  try {
    const body = (await response.json()) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ProviderError('not_json', `The ${what} (${url}) is not a JSON object.`);
}

const stringList = (value: unknown): string[] | null => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : null);

/**
 * Fetches and validates an issuer's discovery document and keys. Throws ProviderError naming the
 * first thing that is wrong.
 */
export async function discoverProvider(fetch: OutboundFetch, issuer: string, allowHosts: readonly string[]): Promise<Provider> {
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ProviderError('issuer_invalid', 'The issuer is not a URL.');
  }
  if (issuerUrl.search || issuerUrl.hash) throw new ProviderError('issuer_invalid', 'The issuer must not have a query or a fragment.');
  const document = await fetchJson(fetch, `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, 'discovery document');
  // OIDC Discovery 4.3: exactly equal, not "equal after normalisation".
  if (document.issuer !== issuer) {
    throw new ProviderError('issuer_mismatch', `The discovery document names the issuer "${String(document.issuer)}", not "${issuer}".`);
  }
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    const value = document[name];
    if (typeof value !== 'string') throw new ProviderError('endpoint_missing', `The discovery document has no ${name}.`);
    try {
      checkScheme(new URL(value), allowHosts);
    } catch {
      throw new ProviderError('endpoint_invalid', `The ${name} (${value}) must be an https URL.`);
    }
  }
  if (!stringList(document.response_types_supported)?.includes('code')) {
    throw new ProviderError('code_flow_unsupported', 'The provider does not support the authorization code flow (response type "code").');
  }
  if (!stringList(document.code_challenge_methods_supported)?.includes('S256')) {
    throw new ProviderError('pkce_unsupported', 'The provider does not advertise PKCE with S256 (code_challenge_methods_supported).');
  }
  const algorithms = (stringList(document.id_token_signing_alg_values_supported) ?? []).filter((alg) => ASYMMETRIC_ALGS.includes(alg));
  if (algorithms.length === 0) {
    throw new ProviderError('algorithms_unsupported', 'The provider advertises no asymmetric ID token signing algorithm (RS256, ES256, EdDSA…).');
  }
  const authMethods = stringList(document.token_endpoint_auth_methods_supported) ?? ['client_secret_basic'];
  const authMethod = authMethods.includes('client_secret_basic') ? 'client_secret_basic' : authMethods.includes('client_secret_post') ? 'client_secret_post' : null;
  if (!authMethod) throw new ProviderError('auth_method_unsupported', 'The provider accepts neither client_secret_basic nor client_secret_post at its token endpoint.');
  const jwks = await fetchJson(fetch, document.jwks_uri as string, 'key set (jwks_uri)');
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new ProviderError('jwks_empty', 'The key set (jwks_uri) holds no keys.');
  return { metadata: document as unknown as client.ServerMetadata, algorithms, jwks: jwks as unknown as JSONWebKeySet, authMethod };
}

function clientConfiguration(provider: Provider, fetch: OutboundFetch, clientId: string, clientSecret: string): client.Configuration {
  const auth = provider.authMethod === 'client_secret_basic' ? client.ClientSecretBasic(clientSecret) : client.ClientSecretPost(clientSecret);
  const configuration = new client.Configuration(provider.metadata, clientId, { client_secret: clientSecret }, auth);
  configuration[client.customFetch] = (url, options) => fetch(url, { method: options.method, headers: options.headers, body: options.body as string | URLSearchParams | null, signal: options.signal ?? null });
  // Plain http reaches only OUTBOUND_ALLOW_HOSTS: the guarded fetch refuses it elsewhere.
  if (new URL(provider.metadata.issuer).protocol === 'http:') client.allowInsecureRequests(configuration);
  return configuration;
}

export function authorizationUrl(
  provider: Provider,
  fetch: OutboundFetch,
  input: { clientId: string; clientSecret: string; redirectUri: string; state: string; nonce: string; codeChallenge: string },
): URL {
  return client.buildAuthorizationUrl(clientConfiguration(provider, fetch, input.clientId, input.clientSecret), {
    redirect_uri: input.redirectUri,
    response_type: 'code',
    scope: 'openid email profile',
    state: input.state,
    nonce: input.nonce,
    code_challenge: input.codeChallenge,
    code_challenge_method: 'S256',
  });
}

export const pkce = {
  verifier: () => client.randomPKCECodeVerifier(),
  challenge: (verifier: string) => client.calculatePKCECodeChallenge(verifier),
};

/**
 * Why the code exchange failed: the token endpoint unreachable or failing on its side (worth a
 * retry), refusing the code, or answering with a token response that is not acceptable. The
 * library wraps what the fetch threw, so the cause chain is searched for it.
 */
function tokenEndpointError(error: unknown): ProviderError {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof OutboundError) return new ProviderError(`outbound_${cause.reason}`, `The token endpoint ${OUTBOUND_MESSAGES[cause.reason]}.`);
  }
  if (error instanceof client.ResponseBodyError) {
    const reason = isOutageStatus(error.status) ? 'provider_unavailable' : 'token_exchange_failed';
    return new ProviderError(reason, `The token endpoint answered HTTP ${error.status} (${error.error}).`);
  }
  // A status the library does not expect, or a body that is not JSON (an error page): the response is the cause.
  if (error instanceof client.ClientError && error.cause instanceof Response) {
    const { status } = error.cause;
    return new ProviderError(isOutageStatus(status) ? 'provider_unavailable' : 'token_exchange_failed', `The token endpoint answered HTTP ${status}.`);
  }
  return new ProviderError('id_token_invalid', `The token response was refused: ${(error as Error).message}`);
}

/**
 * Exchanges the authorization code (PKCE) and verifies the ID token. `callbackUrl` is the
 * callback as the provider redirected to it (the registered redirect URI plus its query).
 */
export async function redeemCode(
  provider: Provider,
  fetch: OutboundFetch,
  input: { clientId: string; clientSecret: string; callbackUrl: URL; state: string; nonce: string; codeVerifier: string },
): Promise<JWTPayload> {
  let idToken: string | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(clientConfiguration(provider, fetch, input.clientId, input.clientSecret), input.callbackUrl, {
      pkceCodeVerifier: input.codeVerifier,
      expectedState: input.state,
      expectedNonce: input.nonce,
      idTokenExpected: true,
    });
    idToken = tokens.id_token;
  } catch (error) {
    throw tokenEndpointError(error);
  }
  if (!idToken) throw new ProviderError('id_token_invalid', 'The token response holds no ID token.');
  // The library accepts an ID token from the token endpoint without checking its signature
  // (OIDC Core 3.1.3.7 allows it over TLS); we check it: a forged token must never sign anyone in.
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(idToken).alg;
  } catch {
    throw new ProviderError('id_token_invalid', 'The ID token is not a JWS.');
  }
  if (typeof alg !== 'string' || !provider.algorithms.includes(alg)) {
    throw new ProviderError('id_token_alg', `The ID token is signed with ${String(alg)}, which is not an asymmetric algorithm the provider advertises.`);
  }
  try {
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(provider.jwks), {
      issuer: provider.metadata.issuer,
      audience: input.clientId,
      algorithms: provider.algorithms,
      clockTolerance: 60,
    });
    if (payload.nonce !== input.nonce) throw new Error('nonce mismatch');
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== input.clientId) throw new Error('azp mismatch');
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw new Error('no usable subject');
    return payload;
  } catch (error) {
    throw new ProviderError('id_token_invalid', `The ID token does not verify: ${(error as Error).message}`);
  }
}
