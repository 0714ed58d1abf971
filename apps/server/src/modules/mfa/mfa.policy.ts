import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';

/** The mfa section of the product policy: how recent a second factor a sensitive action needs (FR-AUTH-014). */
export const MfaPolicy = policySection({
  step_up_max_age_seconds: Type.Integer({
    minimum: 30,
    maximum: 86_400,
    default: 900,
    description: 'A sensitive action needs a second factor proven at most this long ago; older, the caller steps up again.',
  }),
});
export type MfaPolicyType = Static<typeof MfaPolicy>;
