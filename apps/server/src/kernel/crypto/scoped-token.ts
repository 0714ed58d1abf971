import { createHash, randomBytes } from 'node:crypto';
import { isUuid } from '../db/database.ts';

/**
 * Opaque tokens that name their scope: `<tenantId|platform>.<secret>`, the secret 32 random bytes
 * in base64url. The scope lets a public route look the token up inside the right tenant context
 * before anyone is authenticated (refresh, password reset, verification link, MFA challenge,
 * invitation). Only the SHA-256 of the secret is stored.
 */
export interface ScopedToken {
  /** The tenant the token names, or null for the platform. */
  tenantId: string | null;
  secret: string;
  /** What is stored: hex SHA-256 of the secret. */
  hash: string;
}

const PLATFORM_SCOPE = 'platform';
/** 32 bytes in base64url without padding: exactly what mintScopedToken makes, nothing else. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export const hashTokenSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function mintScopedToken(tenantId: string | null): ScopedToken & { token: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${tenantId ?? PLATFORM_SCOPE}.${secret}`, tenantId, secret, hash: hashTokenSecret(secret) };
}

/** The scope and secret of a token, or null when it is not one mintScopedToken could have made. */
export function parseScopedToken(token: string): ScopedToken | null {
  const [scope, secret, extra] = token.split('.');
  if (!scope || !secret || extra !== undefined || !SECRET.test(secret)) return null;
  if (scope !== PLATFORM_SCOPE && !isUuid(scope)) return null;
  return { tenantId: scope === PLATFORM_SCOPE ? null : scope.toLowerCase(), secret, hash: hashTokenSecret(secret) };
}
