import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';

/** The lockout section of the product policy: when failed sign-ins lock a source out and slow an account down (FR-AUTH-004). */
export const LockoutPolicy = policySection({
  failures_to_lock: Type.Integer({
    minimum: 3,
    maximum: 100,
    default: 5,
    description: 'Consecutive failed sign-ins (password or second factor) from one source, device or address, that lock it out of the account.',
  }),
  lock_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 900, description: 'How long a locked source stays out of the account.' }),
  slowdown_after_failures: Type.Integer({
    minimum: 5,
    maximum: 10_000,
    default: 20,
    description: 'Failed sign-ins of one account from every source within the slowdown window past which each further failure answers later.',
  }),
  slowdown_window_seconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 3_600, description: 'The window the account-wide failures are counted in.' }),
  slowdown_max_delay_ms: Type.Integer({ minimum: 1_000, maximum: 30_000, default: 30_000, description: 'The longest a failure past the slowdown threshold waits.' }),
});
export type LockoutPolicyType = Static<typeof LockoutPolicy>;
