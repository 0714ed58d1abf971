import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

/** Ten single-use codes per set, shown once and stored as SHA-256. */
export const RECOVERY_CODE_COUNT = 10;
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

export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
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
