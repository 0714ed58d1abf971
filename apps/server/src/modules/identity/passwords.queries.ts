import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import { PASSWORD_POLICY_LIMITS } from './password-policy.ts';

/** A user with what the password rules need: its address, name, current hash and tenant slug. */
export function findPasswordOwner(tx: Tx, userId: string) {
  return tx
    .selectFrom('users as u')
    .leftJoin('tenants as t', 't.id', 'u.tenant_id')
    .select(['u.id', 'u.tenant_id', 'u.email', 'u.name', 'u.status', 'u.password_hash', 't.slug as tenant_slug'])
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

/** The tenant's policy row in the current tenant context; none means the platform minimum. */
export function findPasswordPolicy(tx: Tx) {
  return tx.selectFrom('password_policies').select(['min_length', 'require_all_classes', 'history', 'min_strength', 'version', 'updated_at']).executeTakeFirst();
}

export function upsertPasswordPolicy(
  tx: Tx,
  tenantId: string,
  policy: { min_length: number; require_all_classes: boolean; history: number; min_strength: number; updated_by: string | null },
) {
  return tx
    .insertInto('password_policies')
    .values({ tenant_id: tenantId, ...policy })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({ ...policy, version: sql`password_policies.version + 1`, updated_at: new Date() }),
    )
    .returning(['min_length', 'require_all_classes', 'history', 'min_strength', 'version', 'updated_at'])
    .executeTakeFirstOrThrow();
}

/** The hashes of the user's most recent passwords, newest first. */
export async function recentPasswordHashes(tx: Tx, userId: string, count: number): Promise<string[]> {
  const rows = await tx
    .selectFrom('password_history')
    .select('password_hash')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(count)
    .execute();
  return rows.map((row) => row.password_hash);
}

/**
 * Sets a new password: the hash and its history entry (older entries past the longest history a
 * tenant may ask for are dropped).
 */
export async function setPassword(tx: Tx, user: { id: string; tenant_id: string | null }, passwordHash: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({
      password_hash: passwordHash,
      password_changed_at: new Date(),
      version: sql`version + 1`,
      updated_at: new Date(),
    })
    .where('id', '=', user.id)
    .execute();
  await tx.insertInto('password_history').values({ tenant_id: user.tenant_id, user_id: user.id, password_hash: passwordHash }).execute();
  await tx
    .deleteFrom('password_history')
    .where('user_id', '=', user.id)
    .where(
      'id',
      'not in',
      tx.selectFrom('password_history').select('id').where('user_id', '=', user.id).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(PASSWORD_POLICY_LIMITS.history),
    )
    .execute();
}


/** Reset links issued to the user since the given moment (the hourly allowance). */
export async function countResetsSince(tx: Tx, userId: string, since: Date): Promise<number> {
  const row = await tx
    .selectFrom('password_resets')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export function insertPasswordReset(tx: Tx, reset: { tenant_id: string | null; user_id: string; token_hash: string; expires_at: Date }) {
  return tx.insertInto('password_resets').values(reset).returning('id').executeTakeFirstOrThrow();
}

/** A reset link that can still be used, with its user. */
export function findLiveReset(tx: Tx, tokenHash: string) {
  return tx
    .selectFrom('password_resets')
    .select(['id', 'user_id'])
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
}

/**
 * Uses a link: marks it and every other live link of the user used. False when another request
 * used it first or it expired meanwhile.
 */
export async function claimReset(tx: Tx, id: string, userId: string): Promise<boolean> {
  const claimed = await tx
    .updateTable('password_resets')
    .set({ used_at: new Date() })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
  if (claimed.numUpdatedRows !== 1n) return false;
  await tx.updateTable('password_resets').set({ used_at: new Date() }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
  return true;
}
