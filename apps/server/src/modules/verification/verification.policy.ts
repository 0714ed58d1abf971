import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';

/** The verification section of the product policy: how long codes work and how many go out (FR-VER-002). */
export const VerificationPolicy = policySection({
  code_lifetime_seconds: Type.Integer({ minimum: 300, maximum: 86_400, default: 1_800, description: 'How long a verification code or link works.' }),
  codes_per_destination_per_hour: Type.Integer({
    minimum: 1,
    maximum: 1_000,
    default: 3,
    description: 'Codes one phone number or email address gets per hour, whichever accounts and tenants ask.',
  }),
  codes_per_destination_per_day: Type.Integer({ minimum: 1, maximum: 10_000, default: 10, description: 'The same per day.' }),
  codes_per_tenant_per_hour: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: 'Codes one organization sends per hour.' }),
  codes_per_user_per_hour: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'Codes one user gets per purpose (email, phone) and hour.' }),
  verify_attempts_per_hour: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Codes one user may try per purpose and hour; one more locks verification.' }),
  verify_lockout_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 1_800, description: 'How long verification stays locked after too many wrong codes.' }),
});
export type VerificationPolicyType = Static<typeof VerificationPolicy>;
