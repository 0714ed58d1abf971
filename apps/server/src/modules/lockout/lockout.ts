import { sql } from 'kysely';
import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { nameThrottleKeys, type ThrottleKeys } from '../../kernel/db/throttle-keys.ts';
import { AppError } from '../../kernel/errors.ts';
import { ipKey } from '../../kernel/client-address.ts';
import { findKnownDevice } from '../sessions/index.ts';
import type { LockoutPolicyType } from './lockout.policy.ts';

/** The account-wide counter's source. */
const EVERY_SOURCE = '';
const NO_USER = '00000000-0000-0000-0000-000000000000';

/** The counters of one login name from one source: their keys in login_failures. */
export interface LoginThrottle {
  account: string;
  source: string;
}

/**
 * The key of a login name: `tenant` is the tenant's id, or `slug:<slug>` when the sign-in names no
 * such tenant, or null for platform staff; `email` is normalised.
 */
export function loginAccountKey(keys: ThrottleKeys, login: { tenant: string | null; email: string }): string {
  return keys.of('login account', `${login.tenant ?? 'platform'}\n${login.email}`);
}

export function loginThrottle(keys: ThrottleKeys, login: { tenant: string | null; email: string; source: string }): LoginThrottle {
  return { account: loginAccountKey(keys, login), source: keys.of('login source', login.source) };
}

/**
 * Where a sign-in comes from: the device it names when that device signed in to this account
 * before (only tenant users have devices), else the client's address.
 */
export async function loginSource(tx: Tx, from: { tenantId: string | null; userId: string | undefined; deviceId: string | undefined; ip: string | null }): Promise<string> {
  // An unknown account runs the same query (for no user), so it costs what a known one costs.
  const known = from.tenantId !== null && from.deviceId !== undefined && (await findKnownDevice(tx, { tenantId: from.tenantId, userId: from.userId ?? NO_USER, clientId: from.deviceId })) !== undefined;
  return known ? `device:${from.deviceId}` : addressSource(from.ip);
}

/** The client's address as a source (second factors at reset and step-up name no device). */
export const addressSource = (ip: string | null) => `address:${ip ? ipKey(ip) : 'unknown'}`;

/** The refusal while a source is locked out: the same for every account, known or not. */
export function lockedOut(until: Date): AppError {
  return new AppError('rate-limited', 'Too many failed sign-ins from here. Try again later, or reset the password.', {
    retry_after: Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000)),
  });
}

/**
 * Login lockout (FR-AUTH-004, FR-AUTH-007), keyed so that failures in one place cannot lock the
 * account's owner out of another:
 * - per account and source: consecutive failures from one source (lockout.failures_to_lock, 5)
 *   lock that source out of the account (lockout.lock_seconds, 15 minutes: 429 with Retry-After,
 *   the password unchecked); a success from the source clears its count. A source is the device,
 *   when the sign-in names one that completed a sign-in of the account before, else the client
 *   address (IPv6 by its /64).
 * - per account: failures from every source within an hour (lockout.slowdown_window_seconds);
 *   past 20 (lockout.slowdown_after_failures), each failure's answer waits progressively longer.
 *   It slows an attack spread over many addresses and never locks.
 * The account is the login name (tenant and address) whether or not such an account exists, so an
 * unknown account locks and slows exactly as a known one does: the answers tell nothing apart.
 * Counting is one locked row per account and source (and one per account) in login_failures, so
 * parallel failures are counted exactly and a lock is set once, by the failure that reaches it.
 * The numbers are the product policy's lockout section; the keys above need none of them.
 */
export function createLockoutService(policy: LockoutPolicyType) {
  /** Until when the source is locked out of the account, or null. */
  async function lockedUntil(tx: Tx, throttle: LoginThrottle): Promise<Date | null> {
    await nameThrottleKeys(tx, [throttle.account]);
    const result = await sql<{ locked_until: Date }>`
      select locked_until from login_failures where account = ${throttle.account} and source = ${throttle.source} and locked_until > now()`.execute(tx);
    const row = result.rows[0];
    return row ? new Date(row.locked_until) : null;
  }

  /**
   * How long the answer to a failure waits: nothing up to the account-wide threshold, then `baseMs`
   * doubling with every failure past it, capped at lockout.slowdown_max_delay_ms.
   */
  function failureDelayMs(accountFailures: number, baseMs: number): number {
    const threshold = policy.slowdown_after_failures;
    if (accountFailures <= threshold || baseMs === 0) return 0;
    return Math.min(baseMs * 2 ** (accountFailures - threshold), policy.slowdown_max_delay_ms);
  }

  /**
   * Counts one failure from the source and for the account. A failure after an expired lock counts
   * from the threshold on, so one more failure locks again. Returns the source's consecutive
   * failures, the account's failures in the window, and whether this failure locked the source out.
   */
  async function countLoginFailure(tx: Tx, throttle: LoginThrottle): Promise<{ failures: number; accountFailures: number; lockedNow: boolean }> {
    const { account, source } = throttle;
    await nameThrottleKeys(tx, [account]);
    await sql`insert into login_failures (account, source) values (${account}, ${source}), (${account}, ${EVERY_SOURCE}) on conflict do nothing`.execute(tx);
    // The CTE locks the source's row and keeps its lock state from before this failure.
    const counted = await sql<{ failures: number; locked_now: boolean }>`
      with prior as (select locked_until from login_failures where account = ${account} and source = ${source} for update)
      update login_failures f set
        failures = f.failures + 1,
        last_failed_at = now(),
        locked_until = case when f.failures + 1 >= ${policy.failures_to_lock} and (prior.locked_until is null or prior.locked_until <= now())
          then now() + make_interval(secs => ${policy.lock_seconds}) else f.locked_until end
      from prior where f.account = ${account} and f.source = ${source}
      returning f.failures,
        (f.failures >= ${policy.failures_to_lock} and (prior.locked_until is null or prior.locked_until <= now())) as locked_now`.execute(tx);
    const everywhere = await sql<{ failures: number }>`
      update login_failures set
        failures = case when window_start <= now() - make_interval(secs => ${policy.slowdown_window_seconds}) then 1 else failures + 1 end,
        window_start = case when window_start <= now() - make_interval(secs => ${policy.slowdown_window_seconds}) then now() else window_start end,
        last_failed_at = now()
      where account = ${account} and source = ${EVERY_SOURCE}
      returning failures`.execute(tx);
    const row = counted.rows[0]!;
    return { failures: row.failures, accountFailures: everywhere.rows[0]!.failures, lockedNow: row.locked_now };
  }

  /** The failure that locks a source out of an account is a security event (high), whichever factor failed. */
  async function recordAccountLocked(
    tx: Tx,
    ctx: RequestContext,
    locked: { tenantId: string | null; userId: string | undefined; failures: number; factor?: boolean },
  ): Promise<void> {
    await recordAudit(tx, ctx, {
      tenantId: locked.tenantId,
      action: 'security.account_locked',
      category: 'security',
      severity: 'high',
      outcome: 'denied',
      ...(locked.userId ? { resourceType: 'user', resourceId: locked.userId } : {}),
      metadata: { failures: locked.failures, threshold: policy.failures_to_lock, lockout_seconds: policy.lock_seconds, ...(locked.factor ? { factor: true } : {}) },
    });
  }

  /** A successful sign-in forgets the failures of its source; the account-wide count runs out with its window. */
  async function clearLoginFailures(tx: Tx, throttle: LoginThrottle): Promise<void> {
    await nameThrottleKeys(tx, [throttle.account]);
    await sql`delete from login_failures where account = ${throttle.account} and source = ${throttle.source}`.execute(tx);
  }

  /** A password change or reset forgets every failure of the account, from every source. */
  async function clearAccountFailures(tx: Tx, account: string): Promise<void> {
    await nameThrottleKeys(tx, [account]);
    await sql`delete from login_failures where account = ${account}`.execute(tx);
  }

  return { lockedUntil, failureDelayMs, countLoginFailure, recordAccountLocked, clearLoginFailures, clearAccountFailures };
}

export type LockoutService = ReturnType<typeof createLockoutService>;
