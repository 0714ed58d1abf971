import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';
import { PASSWORD_MINIMUM_FLOORS, PASSWORD_POLICY_LIMITS, type PasswordMinimum } from './password-policy.ts';

/**
 * The identity section of the product policy: how sign-in answers failures and refresh replays, and
 * the password minimum every tenant's password policy meets or tightens (FR-AUTH-002).
 */
export const IdentityPolicy = policySection({
  login_failure_answer_ms: Type.Integer({
    minimum: 0,
    maximum: 5_000,
    default: 250,
    description: 'A failed sign-in answers no sooner than this after it began, so its timing does not tell whether the account or organization exists; 0 turns it off.',
  }),
  login_failure_delay_ms: Type.Integer({
    minimum: 0,
    maximum: 30_000,
    default: 1_000,
    description: 'First step of the delay of a failed sign-in once an account has more failures than lockout.slowdown_after_failures in its window; doubles, at most lockout.slowdown_max_delay_ms; 0 turns it off.',
  }),
  refresh_reuse_grace_seconds: Type.Integer({
    minimum: 0,
    maximum: 60,
    default: 10,
    description: 'The refresh token rotated last, presented again this soon (two tabs at once), answers the same new token; later, or an older token, revokes the session. 0: always revokes.',
  }),
  password_min_length: Type.Integer({
    minimum: PASSWORD_MINIMUM_FLOORS.minLength,
    maximum: PASSWORD_POLICY_LIMITS.minLength,
    default: 12,
    description: 'The fewest characters (code points) a password has; a tenant may ask for more, never fewer.',
  }),
  password_min_classes: Type.Integer({
    minimum: PASSWORD_MINIMUM_FLOORS.classes,
    maximum: 4,
    default: 3,
    description: 'How many of the four classes (lower case, upper case, digit, other) a password mixes; a tenant may require all four.',
  }),
  password_history: Type.Integer({
    minimum: PASSWORD_MINIMUM_FLOORS.history,
    maximum: PASSWORD_POLICY_LIMITS.history,
    default: 5,
    description: 'How many previous passwords may not be reused; a tenant may refuse more, never fewer.',
  }),
  password_min_strength: Type.Integer({
    minimum: PASSWORD_MINIMUM_FLOORS.minStrength,
    maximum: PASSWORD_POLICY_LIMITS.minStrength,
    default: 3,
    description: 'The guess estimate (zxcvbn score 0..4) a password reaches: 3 is about 10^8 guesses, 4 about 10^10; a tenant may ask for more.',
  }),
});
export type IdentityPolicyType = Static<typeof IdentityPolicy>;

/** The password minimum the section sets. */
export function passwordMinimumOf(policy: IdentityPolicyType): PasswordMinimum {
  return { minLength: policy.password_min_length, classes: policy.password_min_classes, history: policy.password_history, minStrength: policy.password_min_strength };
}
