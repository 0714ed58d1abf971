import { generateSecret, generateURI, verify } from 'otplib';
import type { SecretBox } from '../../kernel/crypto/secret-box.ts';

/** TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
const PERIOD = 30;

export function newTotpSecret(): string {
  // 20 random bytes (160 bits), base32: what RFC 4226 recommends.
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ issuer, label: account, secret });
}

/**
 * The time step a code belongs to, when it is valid within one step either side of now and later
 * than `afterStep` (the last step accepted for the factor: a code is accepted once).
 */
export async function verifyTotp(secret: string, code: string, afterStep: number | null): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const result = await verify({
      secret,
      token: code,
      epochTolerance: PERIOD,
      ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    // otplib refuses a last used step ahead of the window (the clock went back): no code is valid.
    return null;
  }
}

/**
 * TOTP secrets are stored sealed (AES-256-GCM, SECRETS_KEY), bound to their user: a sealed secret
 * copied to another user's factor does not open.
 */
const sealedFor = (userId: string) => `mfa.totp:${userId}`;
export const sealTotpSecret = (secrets: SecretBox, userId: string, secret: string) => secrets.seal(secret, sealedFor(userId));
export const openTotpSecret = (secrets: SecretBox, userId: string, sealed: string) => secrets.open(sealed, sealedFor(userId));
