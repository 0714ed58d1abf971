import fs from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type KeyObject,
} from 'jose';
import { setBounded } from '../bounded-map.ts';

/** Claims of the access tokens the platform issues (FR-AUTH-013). */
export interface AccessClaims {
  sub: string;
  tenant_id: string | null;
  roles: string[];
  sid: string;
  amr: string[];
  /** When the session last proved a second factor, epoch seconds (FR-AUTH-014 step-up). */
  mfa_at?: number;
  /** RFC 8693 actor: the platform staff member acting as `sub`, in an impersonation token (FR-RBAC-005). */
  act?: { sub: string };
}

export interface VerifiedAccess extends AccessClaims {
  exp: number;
  iat: number;
}

type Key = CryptoKey | KeyObject | Uint8Array;

export interface TokenService {
  /**
   * `expiresAt` ends the token sooner than its lifetime (impersonation: at its session's end); a
   * token that would outlive its lifetime is refused, never issued.
   */
  issue(claims: AccessClaims, options?: { expiresAt?: Date }): Promise<{ token: string; expiresIn: number }>;
  /** Throws on a bad signature, issuer, audience, algorithm, expiry or lifetime. */
  verify(token: string): Promise<VerifiedAccess>;
  /** The public keys, for managed applications to verify our tokens. */
  jwks(): { keys: JWK[] };
}

const ALG = 'EdDSA';

function isActorClaim(value: unknown): value is { sub: string } {
  return typeof value === 'object' && value !== null && typeof (value as { sub?: unknown }).sub === 'string';
}
const VERIFIED_CACHE_SIZE = 50_000;
/** How far ahead another node's clock may be: a token issued there may be this young here. */
const CLOCK_SKEW_SECONDS = 30;

/**
 * The signing key: SIGNING_KEY (an Ed25519 private JWK) when set; otherwise one generated on
 * first start and kept in the data directory, so development tokens survive restarts.
 */
export async function loadSigningJwk(signingKey: string | undefined, dataDir: string): Promise<JWK> {
  if (signingKey) {
    const jwk = JSON.parse(signingKey) as JWK;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d) throw new Error('SIGNING_KEY must be an Ed25519 private JWK');
    return jwk;
  }
  const file = path.join(dataDir, 'signing-key.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as JWK;
  } catch {
    const { privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(privateKey);
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
    return jwk;
  }
}

/** FR-RBAC-005: an impersonation (and every token it is given) lasts 30 minutes at most and is never renewed. */
export const IMPERSONATION_MINUTES = 30;

export async function createTokenService(options: {
  privateJwk: JWK;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}): Promise<TokenService> {
  const kid = await calculateJwkThumbprint(options.privateJwk);
  const { d: _secret, ...publicJwk } = options.privateJwk;
  const privateKey = (await importJWK({ ...options.privateJwk, alg: ALG }, ALG)) as Key;
  const publicKey = (await importJWK({ ...publicJwk, alg: ALG }, ALG)) as Key;
  const published: JWK = { ...publicJwk, kid, alg: ALG, use: 'sig' };
  // Tokens already verified, by their exact text, until they expire: a client sends the same
  // token many times, and the signature check is the main CPU cost of a request. Revocation is
  // not a property of the token (the session check decides it), so caching the claims is safe.
  const verified = new Map<string, VerifiedAccess>();
  // FR-AUTH-013: every token ends at most this long after it was issued, whatever a signer wrote.
  const lifetimeOf = (claims: Pick<AccessClaims, 'act'>) => (claims.act === undefined ? options.ttlSeconds : IMPERSONATION_MINUTES * 60);

  return {
    async issue(claims, issueOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      const exp = issueOptions.expiresAt ? Math.floor(issueOptions.expiresAt.getTime() / 1000) : now + lifetimeOf(claims);
      if (exp - now > lifetimeOf(claims)) throw new Error(`an access token must end within ${lifetimeOf(claims)} s of its issue`);
      const token = await new SignJWT({
        tenant_id: claims.tenant_id,
        roles: claims.roles,
        sid: claims.sid,
        amr: claims.amr,
        ...(claims.mfa_at !== undefined ? { mfa_at: claims.mfa_at } : {}),
        ...(claims.act ? { act: { sub: claims.act.sub } } : {}),
      })
        .setProtectedHeader({ alg: ALG, kid, typ: 'at+jwt' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(claims.sub)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(privateKey);
      return { token, expiresIn: exp - now };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known && known.exp * 1000 > Date.now()) return known;
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [ALG],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat'],
      });
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.sid !== 'string' ||
        !(payload.tenant_id === null || typeof payload.tenant_id === 'string') ||
        !Array.isArray(payload.roles) ||
        !Array.isArray(payload.amr) ||
        !(payload.mfa_at === undefined || typeof payload.mfa_at === 'number') ||
        !(payload.act === undefined || isActorClaim(payload.act))
      ) {
        throw new Error('malformed claims');
      }
      const claims = payload as unknown as VerifiedAccess;
      // A token issued in the future could carry an expiry just as far ahead.
      const { iat, exp } = claims;
      if (iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS || exp <= iat || exp - iat > lifetimeOf(claims)) throw new Error('lifetime exceeded');
      setBounded(verified, token, claims, VERIFIED_CACHE_SIZE);
      return claims;
    },
    jwks: () => ({ keys: [published] }),
  };
}
