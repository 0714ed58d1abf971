import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';

/**
 * The mfa section of the product policy: how recent a second factor a sensitive action needs
 * (FR-AUTH-014), how many codes a sign-in challenge allows (ERR-AUTH-461), how many recovery codes a set holds.
 */
export const MfaPolicy = policySection({
  step_up_max_age_seconds: Type.Integer({
    minimum: 30,
    maximum: 86_400,
    default: 900,
    description: 'A sensitive action needs a second factor proven at most this long ago; older, the caller steps up again.',
  }),
  challenge_attempts: Type.Integer({
    minimum: 1,
    maximum: 10,
    default: 5,
    description: 'Wrong codes a sign-in challenge allows; the last one spends the challenge and is a security event (each also counts toward the lockout).',
  }),
  recovery_codes: Type.Integer({ minimum: 5, maximum: 20, default: 10, description: 'Recovery codes in a set, issued with the first factor and when regenerated.' }),
});
export type MfaPolicyType = Static<typeof MfaPolicy>;
