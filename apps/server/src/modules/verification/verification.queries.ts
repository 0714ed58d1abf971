import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import { nameThrottleKeys } from '../../kernel/db/throttle-keys.ts';

export type Purpose = 'email' | 'phone';

/** What verifying a user needs to know, in the transaction's context. */
export function findVerificationSubject(tx: Tx, userId: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'tenant_id', 'email', 'status', 'email_verified_at', 'phone', 'phone_verified_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

export async function markEmailVerified(tx: Tx, userId: string, email?: string): Promise<boolean> {
  let query = tx.updateTable('users').set({ email_verified_at: new Date() }).where('id', '=', userId).where('email_verified_at', 'is', null);
  // A code sent to an address proves only that address: the account's address must still be it.
  if (email !== undefined) query = query.where('email', '=', email);
  return (await query.returning('id').execute()).length > 0;
}

export async function markPhoneVerified(tx: Tx, userId: string, phone: string): Promise<boolean> {
  const rows = await tx.updateTable('users').set({ phone_verified_at: new Date() }).where('id', '=', userId).where('phone', '=', phone).returning('id').execute();
  return rows.length > 0;
}

/** Sets the number; a different number than the stored one is unverified. */
export function setPhone(tx: Tx, userId: string, phone: string) {
  return tx
    .updateTable('users')
    .set({ phone, phone_verified_at: sql<Date | null>`case when phone = ${phone} then phone_verified_at else null end` })
    .where('id', '=', userId)
    .execute();
}

/**
 * Counts one send in the hourly window, atomically (the row is locked until commit). Returns the
 * count including this one, when the window started and any lockout.
 */
export function countSend(tx: Tx, row: { tenant_id: string | null; user_id: string; purpose: Purpose }) {
  return sql<{ count: number; window_start: Date; locked_until: Date | null }>`
    insert into verification_limits as l (tenant_id, user_id, purpose, send_window_start, send_count)
    values (${row.tenant_id}, ${row.user_id}, ${row.purpose}, now(), 1)
    on conflict (user_id, purpose) do update set
      send_count = case when l.send_window_start <= now() - interval '1 hour' then 1 else l.send_count + 1 end,
      send_window_start = case when l.send_window_start <= now() - interval '1 hour' then now() else l.send_window_start end
    returning send_count as count, send_window_start as window_start, locked_until`
    .execute(tx)
    .then((result) => result.rows[0]!);
}

/**
 * Counts one verify attempt in the hourly window, atomically; attempts made during a lockout are
 * not counted. Past `limit` the row is locked for `lockSeconds` and the window starts again after it.
 */
export async function countVerify(tx: Tx, row: { tenant_id: string | null; user_id: string; purpose: Purpose }, limit: number, lockSeconds: number) {
  // Locks the row first and reads the lockout as it was, to tell the attempt that locks it.
  const previous = await sql<{ locked: boolean }>`
    select coalesce(locked_until > now(), false) as locked from verification_limits where user_id = ${row.user_id} and purpose = ${row.purpose} for update`.execute(tx);
  const counted = await sql<{ count: number; locked_until: Date | null }>`
    insert into verification_limits as l (tenant_id, user_id, purpose, verify_window_start, verify_count)
    values (${row.tenant_id}, ${row.user_id}, ${row.purpose}, now(), 1)
    on conflict (user_id, purpose) do update set
      verify_count = case
        when l.locked_until > now() then l.verify_count
        when l.verify_window_start <= now() - interval '1 hour' then 1
        when l.verify_count + 1 > ${limit} then 0
        else l.verify_count + 1 end,
      verify_window_start = case
        when l.locked_until > now() then l.verify_window_start
        when l.verify_window_start <= now() - interval '1 hour' or l.verify_count + 1 > ${limit} then now()
        else l.verify_window_start end,
      locked_until = case
        when l.locked_until > now() then l.locked_until
        when l.verify_window_start > now() - interval '1 hour' and l.verify_count + 1 > ${limit} then now() + make_interval(secs => ${lockSeconds})
        else null end
    returning verify_count as count, locked_until`.execute(tx);
  const result = counted.rows[0]!;
  const lockedNow = result.locked_until !== null && new Date(result.locked_until).getTime() > Date.now() && !previous.rows[0]?.locked;
  return { ...result, locked_now: lockedNow };
}

/** A counter of sends that spans accounts: its key (a throttle key), how many it allows, and over how long. */
export interface SendAllowance {
  key: string;
  limit: number;
  windowSeconds: number;
}

/**
 * Takes one send from every allowance, or from none when any is spent: returns the spent ones with
 * the seconds until each frees (a window starts at its first send). Parallel sends that share a
 * counter queue on its row, locked in key order (never a deadlock), so they are counted exactly, on
 * every node.
 */
export async function takeSendAllowances(tx: Tx, allowances: readonly SendAllowance[]): Promise<{ key: string; retry_after: number }[]> {
  await nameThrottleKeys(tx, allowances.map((allowance) => allowance.key));
  const windows = sql.join(allowances.map((allowance) => sql`(${allowance.key}::text, ${allowance.limit}::int, ${allowance.windowSeconds}::int)`));
  await sql`insert into verification_send_counts (key) select key from (values ${windows}) as a (key, lim, secs) order by key on conflict do nothing`.execute(tx);
  const counted = await sql<{ key: string; spent: boolean; retry_after: number }>`
    select c.key, c.window_start > now() - make_interval(secs => a.secs) and c.sends >= a.lim as spent,
           ceil(extract(epoch from c.window_start + make_interval(secs => a.secs) - now()))::int as retry_after
      from verification_send_counts c join (values ${windows}) as a (key, lim, secs) on a.key = c.key
     order by c.key
       for update of c`.execute(tx);
  const spent = counted.rows.filter((row) => row.spent);
  if (spent.length > 0) return spent;
  await sql`
    update verification_send_counts c set
      sends = case when c.window_start <= now() - make_interval(secs => a.secs) then 1 else c.sends + 1 end,
      window_start = case when c.window_start <= now() - make_interval(secs => a.secs) then now() else c.window_start end
      from (values ${windows}) as a (key, lim, secs)
     where a.key = c.key`.execute(tx);
  return [];
}

export function findLock(tx: Tx, userId: string, purpose: Purpose) {
  return tx.selectFrom('verification_limits').select('locked_until').where('user_id', '=', userId).where('purpose', '=', purpose).executeTakeFirst();
}

/** A new code makes every earlier live code of the same purpose useless. */
export async function insertCode(
  tx: Tx,
  row: { id: string; tenant_id: string | null; user_id: string; purpose: Purpose; channel: 'email' | 'sms' | 'whatsapp'; target: string; code_hash: string; token_hash: string | null; expires_at: Date },
) {
  await tx
    .updateTable('verification_codes')
    .set({ expires_at: new Date() })
    .where('user_id', '=', row.user_id)
    .where('purpose', '=', row.purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .execute();
  await tx.insertInto('verification_codes').values(row).execute();
}

/** The one live code of a user for a purpose, if any. */
export function findLiveCode(tx: Tx, userId: string, purpose: Purpose) {
  return tx
    .selectFrom('verification_codes')
    .select(['id', 'code_hash', 'target', 'channel'])
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export function findLiveCodeByToken(tx: Tx, tokenHash: string) {
  return tx
    .selectFrom('verification_codes')
    .select(['id', 'user_id', 'target'])
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', 'email')
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
}

/** Marks a live code used; false when another request used it first. */
export async function claimCode(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx
    .updateTable('verification_codes')
    .set({ used_at: new Date() })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .returning('id')
    .execute();
  return rows.length > 0;
}

export function findVerificationPolicy(tx: Tx) {
  return tx.selectFrom('tenant_verification_policy').select(['require_phone', 'default_channel', 'version']).executeTakeFirst();
}

export function upsertVerificationPolicy(
  tx: Tx,
  tenantId: string,
  policy: { require_phone: boolean; default_channel: 'sms' | 'whatsapp' | 'email'; updated_by: string | null },
) {
  return tx
    .insertInto('tenant_verification_policy')
    .values({ tenant_id: tenantId, ...policy })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({
        require_phone: policy.require_phone,
        default_channel: policy.default_channel,
        updated_by: policy.updated_by,
        version: sql<number>`tenant_verification_policy.version + 1`,
        updated_at: new Date(),
      }),
    )
    .returning(['require_phone', 'default_channel', 'version'])
    .executeTakeFirstOrThrow();
}

/** What /v1/me tells the console: what is verified, and what the user must verify first. */
export async function findVerificationState(tx: Tx, userId: string, tenantScoped: boolean) {
  const user = await tx.selectFrom('users').select(['email_verified_at', 'phone', 'phone_verified_at']).where('id', '=', userId).executeTakeFirst();
  const requirePhone = tenantScoped ? ((await findVerificationPolicy(tx))?.require_phone ?? false) : false;
  const emailVerified = Boolean(user?.email_verified_at);
  const phoneVerified = Boolean(user?.phone_verified_at);
  return {
    email_verified: emailVerified,
    phone: user?.phone ?? null,
    phone_verified: phoneVerified,
    phone_required: requirePhone,
    verification_required: !emailVerified ? ('email' as const) : requirePhone && !phoneVerified ? ('phone' as const) : null,
  };
}
