import { sql } from 'kysely';
import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';

/**
 * Account lockout (FR-AUTH-004): 5 consecutive failures lock the account for 15 minutes; further
 * failures wait progressively longer before the answer. Counting is one UPDATE … RETURNING on the
 * user's row, so parallel failures serialise on the row lock and the lock is set exactly once, by
 * the failure that reaches the threshold.
 */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_SECONDS = 15 * 60;
const MAX_DELAY_MS = 30_000;

export function isLocked(user: { locked_until: Date | null }, now = Date.now()): boolean {
  return user.locked_until !== null && user.locked_until.getTime() > now;
}

/**
 * How long the answer to the n-th consecutive failure waits: nothing below the threshold, then
 * `baseMs` doubling with every failure past it, capped at 30 s.
 */
export function failureDelayMs(failures: number, baseMs: number): number {
  if (failures <= LOCKOUT_THRESHOLD || baseMs === 0) return 0;
  return Math.min(baseMs * 2 ** (failures - LOCKOUT_THRESHOLD), MAX_DELAY_MS);
}

/**
 * Counts one failure. A failure after an expired lock starts from the threshold again, so one more
 * failure locks again. Returns the new count and whether this failure locked the account.
 */
export async function countLoginFailure(tx: Tx, userId: string): Promise<{ failures: number; lockedNow: boolean }> {
  // The CTE locks the row and keeps its lock state from before this failure.
  const result = await sql<{ failures: number; locked_now: boolean }>`
    with prior as (select id, locked_until from users where id = ${userId} for update)
    update users u set
      failed_login_count = u.failed_login_count + 1,
      last_failed_login_at = now(),
      locked_until = case when u.failed_login_count + 1 >= ${LOCKOUT_THRESHOLD} and (prior.locked_until is null or prior.locked_until <= now())
        then now() + make_interval(secs => ${LOCKOUT_SECONDS}) else u.locked_until end
    from prior where u.id = prior.id
    returning u.failed_login_count as failures,
      (u.failed_login_count >= ${LOCKOUT_THRESHOLD} and (prior.locked_until is null or prior.locked_until <= now())) as locked_now`.execute(tx);
  const row = result.rows[0];
  return { failures: row?.failures ?? 0, lockedNow: row?.locked_now ?? false };
}

/** The failure that locks an account is a security event (high), whichever factor failed. */
export async function recordAccountLocked(
  tx: Tx,
  ctx: RequestContext,
  locked: { tenantId: string | null; userId: string; failures: number; factor?: boolean },
): Promise<void> {
  await recordAudit(tx, ctx, {
    tenantId: locked.tenantId,
    action: 'security.account_locked',
    category: 'security',
    severity: 'high',
    outcome: 'denied',
    resourceType: 'user',
    resourceId: locked.userId,
    metadata: { failures: locked.failures, threshold: LOCKOUT_THRESHOLD, ...(locked.factor ? { factor: true } : {}) },
  });
}

/** A successful login forgets the failures. */
export async function clearLoginFailures(tx: Tx, userId: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({ failed_login_count: 0, last_failed_login_at: null, locked_until: null })
    .where('id', '=', userId)
    .where('failed_login_count', '>', 0)
    .execute();
}
