import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';

/** The identity section of the product policy: how sign-in answers failures and refresh replays. */
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
    description: 'First step of the delay of a failed sign-in once an account has more than 20 failures in an hour; doubles, at most 30 s; 0 turns it off.',
  }),
  refresh_reuse_grace_seconds: Type.Integer({
    minimum: 0,
    maximum: 60,
    default: 10,
    description: 'The refresh token rotated last, presented again this soon (two tabs at once), answers the same new token; later, or an older token, revokes the session. 0: always revokes.',
  }),
});
export type IdentityPolicyType = Static<typeof IdentityPolicy>;
