import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * Password rules (FR-AUTH-002): the platform minimum, which a tenant may tighten but never weaken,
 * judged against a candidate and what is known about its owner. The password is judged exactly as
 * typed and hashed exactly as typed: nothing is truncated, trimmed, normalised or case-folded, so
 * what passes here is what the hash covers. Pure: the history rule (which needs hashing) is checked
 * by the caller and reported with the same shape.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;
/** How many of the four classes (lower case, upper case, digit, other) a password must mix. */
export const PASSWORD_MIN_CLASSES = 3;
/** How many previous passwords may not be reused. */
export const PASSWORD_MIN_HISTORY = 5;
/** The upper bounds a tenant may tighten to. */
export const PASSWORD_POLICY_LIMITS = { minLength: 128, history: 24 } as const;

export interface PasswordPolicy {
  minLength: number;
  requireAllClasses: boolean;
  history: number;
}

export const PLATFORM_PASSWORD_POLICY: PasswordPolicy = Object.freeze({
  minLength: PASSWORD_MIN_LENGTH,
  requireAllClasses: false,
  history: PASSWORD_MIN_HISTORY,
});

/** What the candidate must not contain: the owner's address and the tenant's slug. */
export interface PasswordContext {
  email?: string | undefined;
  tenantSlug?: string | undefined;
}

export type PasswordRule = 'min_length' | 'max_length' | 'character_classes' | 'common_password' | 'personal_information' | 'history';

export interface UnmetPasswordRule {
  rule: PasswordRule;
  message: string;
}

/** The ways a policy is weaker than the platform minimum; empty when it may be stored. */
export function policyWeakerThanMinimum(policy: PasswordPolicy): string[] {
  const weaker: string[] = [];
  if (policy.minLength < PASSWORD_MIN_LENGTH) weaker.push(`min_length must be at least ${PASSWORD_MIN_LENGTH}.`);
  if (policy.history < PASSWORD_MIN_HISTORY) weaker.push(`history must be at least ${PASSWORD_MIN_HISTORY}.`);
  return weaker;
}

const LOWER = /\p{Ll}/u;
const UPPER = /\p{Lu}/u;
const DIGIT = /\p{Nd}/u;
/** Pieces of an address or slug shorter than this would refuse too many good passwords. */
const PERSONAL_MIN_LENGTH = 3;

/** The classes a password uses; anything that is not a cased letter or a digit counts as other. */
function characterClasses(characters: readonly string[]): number {
  let lower = false;
  let upper = false;
  let digit = false;
  let other = false;
  for (const character of characters) {
    if (LOWER.test(character)) lower = true;
    else if (UPPER.test(character)) upper = true;
    else if (DIGIT.test(character)) digit = true;
    else other = true;
  }
  return [lower, upper, digit, other].filter(Boolean).length;
}

let commonPasswords: Set<string> | undefined;

/** The list shipped with the project (no network call), loaded once, lower-cased. */
function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  return commonPasswords.has(password.toLowerCase());
}

function containsPersonalInformation(password: string, context: PasswordContext): boolean {
  const lowered = password.toLowerCase();
  const pieces = [context.email?.split('@')[0], context.tenantSlug];
  return pieces.some((piece) => piece !== undefined && piece.length >= PERSONAL_MIN_LENGTH && lowered.includes(piece.toLowerCase()));
}

/** The rules a candidate password breaks; empty when it is acceptable. Lengths count code points. */
export function unmetPasswordRules(password: string, policy: PasswordPolicy = PLATFORM_PASSWORD_POLICY, context: PasswordContext = {}): UnmetPasswordRule[] {
  const characters = [...password];
  const minLength = Math.max(policy.minLength, PASSWORD_MIN_LENGTH);
  const minClasses = policy.requireAllClasses ? 4 : PASSWORD_MIN_CLASSES;
  const unmet: UnmetPasswordRule[] = [];
  if (characters.length < minLength) {
    unmet.push({ rule: 'min_length', message: `Use at least ${minLength} characters.` });
  }
  if (characters.length > PASSWORD_MAX_LENGTH) {
    unmet.push({ rule: 'max_length', message: `Use at most ${PASSWORD_MAX_LENGTH} characters.` });
  }
  if (characterClasses(characters) < minClasses) {
    unmet.push({
      rule: 'character_classes',
      message: `Mix ${minClasses === 4 ? 'all 4' : `at least ${minClasses}`} of: lower-case letters, upper-case letters, digits, other characters.`,
    });
  }
  if (isCommonPassword(password)) {
    unmet.push({ rule: 'common_password', message: 'This password is too common: it appears in lists of leaked passwords.' });
  }
  if (containsPersonalInformation(password, context)) {
    unmet.push({ rule: 'personal_information', message: 'Do not use your email address or the organization name in the password.' });
  }
  return unmet;
}

export const HISTORY_RULE = (history: number): UnmetPasswordRule => ({
  rule: 'history',
  message: `Do not reuse any of your last ${history} passwords.`,
});
