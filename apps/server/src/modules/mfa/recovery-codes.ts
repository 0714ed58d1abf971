import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

/** Single-use codes, shown once and stored as SHA-256; how many a set holds is the policy's mfa.recovery_codes. */
// Crockford-like alphabet without look-alikes (0/O, 1/I/L).
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A code of 10 characters (about 50 bits) written as two groups: XXXXX-XXXXX. */
function newCode(): string {
  const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]!);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

/** The form a code is hashed in, whatever the user typed: upper case, no spaces or dashes. */
export function normalizeRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

export const hashRecoveryCode = (code: string) => createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex');

export function newRecoveryCodes(count: number): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: count }, newCode);
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/** The stored code a typed one matches, compared in constant time against each. */
export function matchRecoveryCode<T extends { code_hash: string }>(stored: T[], typed: string): T | undefined {
  const candidate = Buffer.from(hashRecoveryCode(typed), 'hex');
  let match: T | undefined;
  for (const row of stored) {
    if (timingSafeEqual(Buffer.from(row.code_hash, 'hex'), candidate) && !match) match = row;
  }
  return match;
}
