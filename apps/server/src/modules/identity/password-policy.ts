import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

/**
 * Password rules (FR-AUTH-002): the product's minimum, which a tenant may tighten but never weaken,
 * judged against a candidate and what is known about its owner. The password is hashed exactly as
 * typed: nothing is truncated, trimmed, normalised or case-folded. The rules judge it as typed; the
 * list check and the strength estimate also judge what it is built from, which can only refuse more.
 * Pure: the history rule (which needs hashing) is checked by the caller and reported with the same
 * shape.
 */
export const PASSWORD_MAX_LENGTH = 1024;
/** The upper bounds a tenant may tighten to. */
export const PASSWORD_POLICY_LIMITS = { minLength: 128, history: 24, minStrength: 4 } as const;
/** The lowest minimum a product may set (the ranges of the identity section's password settings). */
export const PASSWORD_MINIMUM_FLOORS = { minLength: 8, classes: 2, history: 0, minStrength: 2 } as const;

/**
 * The product's password minimum (identity.password_* of the product policy), which a tenant may
 * tighten but never weaken. `classes`: how many of the four (lower case, upper case, digit, other)
 * a password must mix; `history`: how many previous passwords may not be reused; `minStrength`: the
 * zxcvbn score (0..4) a password must reach: 3 means about 10^8 guesses or more, out of reach of an
 * online attack and slow offline against Argon2id; 4 means 10^10 or more.
 */
export interface PasswordMinimum {
  minLength: number;
  classes: number;
  history: number;
  minStrength: number;
}

export interface PasswordPolicy {
  minLength: number;
  requireAllClasses: boolean;
  history: number;
  minStrength: number;
}

/** The policy of platform staff and of a tenant that set none: the minimum itself. */
export function minimumPolicy(minimum: PasswordMinimum): PasswordPolicy {
  return { minLength: minimum.minLength, requireAllClasses: minimum.classes === 4, history: minimum.history, minStrength: minimum.minStrength };
}

/** What the candidate must not contain or be built from: the owner's address and name, the tenant's slug. */
export interface PasswordContext {
  email?: string | undefined;
  name?: string | undefined;
  tenantSlug?: string | undefined;
}

export type PasswordRule = 'min_length' | 'max_length' | 'character_classes' | 'common_password' | 'personal_information' | 'guessable' | 'history';

export interface UnmetPasswordRule {
  rule: PasswordRule;
  message: string;
}

/** The ways a policy is weaker than the minimum; empty when it may be stored. */
export function policyWeakerThanMinimum(policy: PasswordPolicy, minimum: PasswordMinimum): string[] {
  const weaker: string[] = [];
  if (policy.minLength < minimum.minLength) weaker.push(`min_length must be at least ${minimum.minLength}.`);
  if (policy.history < minimum.history) weaker.push(`history must be at least ${minimum.history}.`);
  if (policy.minStrength < minimum.minStrength) weaker.push(`min_strength must be at least ${minimum.minStrength}.`);
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

/** Look-alike characters put in place of letters, and the letter each stands for. */
const SUBSTITUTIONS: Record<string, string> = { '@': 'a', '4': 'a', '8': 'b', '(': 'c', '3': 'e', '6': 'g', '9': 'g', '0': 'o', '$': 's', '5': 's', '7': 't', '+': 't', '2': 'z' };
/** These stand for an i as often as for an l: both readings are tried. */
const I_OR_L = /[1!|]/g;
/** Digits, punctuation and spaces put before or after a word. */
const AFFIXES = /^[^\p{L}]+|[^\p{L}]+$/gu;

/**
 * The spellings of a candidate to look up in the list: as typed, and its core, with the digits and
 * symbols added before or after it removed and common substitutions undone (`P@ssw0rd1234` and
 * `Summer2026!!` are `password` and `summer`). All lower case.
 */
function listSpellings(password: string): string[] {
  const lowered = password.toLowerCase();
  const core = lowered.replace(AFFIXES, '');
  if (core === '') return [lowered];
  const unsubstituted = [...core].map((character) => SUBSTITUTIONS[character] ?? character).join('');
  return [lowered, unsubstituted.replace(I_OR_L, 'i'), unsubstituted.replace(I_OR_L, 'l')];
}

/** The list shipped with the project (no network call), loaded once, lower-cased. */
function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(common.dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  return listSpellings(password).some((spelling) => commonPasswords!.has(spelling));
}

let estimator: ZxcvbnFactory | undefined;

/**
 * zxcvbn's guess estimate with the dictionaries shipped with the project (common passwords, English
 * words and names, keyboard layouts), built once on first use: nothing is fetched at run time.
 * Only the first 64 characters are judged and few substitutions are tried per password: the cost
 * of an estimate grows steeply with both, and a longer password that starts strong is strong.
 */
function strengthOf(password: string, context: PasswordContext) {
  estimator ??= new ZxcvbnFactory({
    translations: english.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...english.dictionary },
    maxLength: 64,
    l33tMaxSubstitutions: 10,
  });
  // Whole and in words: `Grace-Hopper-1906` is built from the name Grace Hopper.
  const whole = [context.email, context.email?.split('@')[0], context.name, context.tenantSlug].filter((input): input is string => Boolean(input));
  const words = whole.flatMap((input) => input.split(/[^\p{L}\p{N}]+/u)).filter((word) => word.length >= PERSONAL_MIN_LENGTH);
  return estimator.check(password, [...new Set([...whole, ...words])]);
}

function containsPersonalInformation(password: string, context: PasswordContext): boolean {
  const lowered = password.toLowerCase();
  const pieces = [context.email?.split('@')[0], context.tenantSlug];
  return pieces.some((piece) => piece !== undefined && piece.length >= PERSONAL_MIN_LENGTH && lowered.includes(piece.toLowerCase()));
}

/**
 * The rules a candidate password breaks under a tenant's policy, never below the minimum (a policy
 * stored under a lower minimum is tightened to it); empty when it is acceptable. Lengths count code points.
 */
export function unmetPasswordRules(password: string, policy: PasswordPolicy, minimum: PasswordMinimum, context: PasswordContext = {}): UnmetPasswordRule[] {
  const characters = [...password];
  const minLength = Math.max(policy.minLength, minimum.minLength);
  const minClasses = policy.requireAllClasses ? 4 : minimum.classes;
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
  const listed = isCommonPassword(password);
  if (listed) {
    unmet.push({ rule: 'common_password', message: 'This password is too common: it appears in lists of leaked passwords, perhaps with letters swapped or digits added.' });
  }
  const personal = containsPersonalInformation(password, context);
  if (personal) {
    unmet.push({ rule: 'personal_information', message: 'Do not use your email address or the organization name in the password.' });
  }
  // The estimate catches what the rules above do not name; it is not asked twice about one weakness.
  if (!listed && !personal) {
    const minStrength = Math.max(policy.minStrength, minimum.minStrength);
    const strength = strengthOf(password, context);
    if (strength.score < minStrength) {
      const { warning, suggestions } = strength.feedback;
      unmet.push({ rule: 'guessable', message: [warning ?? 'This password is easy to guess.', ...suggestions].join(' ') });
    }
  }
  return unmet;
}

export const HISTORY_RULE = (history: number): UnmetPasswordRule => ({
  rule: 'history',
  message: `Do not reuse any of your last ${history} passwords.`,
});
