import type { Tx } from '../../kernel/db/database.ts';

export function findUserByEmail(tx: Tx, email: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'tenant_id', 'email', 'name', 'role', 'status', 'password_hash'])
    .where('email', '=', email)
    .executeTakeFirst();
}

/** A user with the slug of its tenant (none for operators), in one query. */
export function findUserWithTenant(tx: Tx, id: string) {
  return tx
    .selectFrom('users as u')
    .leftJoin('tenants as t', 't.id', 'u.tenant_id')
    .select(['u.id', 'u.tenant_id', 'u.email', 'u.name', 'u.role', 't.slug as tenant_slug'])
    .where('u.id', '=', id)
    .executeTakeFirst();
}

export function insertSession(
  tx: Tx,
  session: { tenant_id: string | null; user_id: string; ip: string | null; user_agent: string | null; expires_at: Date; amr: string[] },
) {
  return tx.insertInto('sessions').values(session).returning(['id', 'expires_at']).executeTakeFirstOrThrow();
}

export function insertRefreshToken(tx: Tx, token: { tenant_id: string | null; session_id: string; token_hash: string; expires_at: Date }) {
  return tx.insertInto('refresh_tokens').values(token).execute();
}

export function findRefreshToken(tx: Tx, tokenHash: string) {
  return tx
    .selectFrom('refresh_tokens as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      'r.id',
      'r.status',
      'r.expires_at',
      'r.session_id',
      's.status as session_status',
      's.expires_at as session_expires_at',
      's.amr',
      'u.id as user_id',
      'u.role',
      'u.status as user_status',
    ])
    .where('r.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Marks an active token used; returns false if another request got there first. */
export async function claimRefreshToken(tx: Tx, id: string): Promise<boolean> {
  const result = await tx
    .updateTable('refresh_tokens')
    .set({ status: 'rotated', used_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function revokeSession(tx: Tx, sessionId: string, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('status', '=', 'active')
    .execute();
  await tx.updateTable('refresh_tokens').set({ status: 'revoked' }).where('session_id', '=', sessionId).where('status', '=', 'active').execute();
}

/** Every session in the current tenant context (suspension). */
export async function revokeAllSessions(tx: Tx, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('status', '=', 'active')
    .execute();
  await tx.updateTable('refresh_tokens').set({ status: 'revoked' }).where('status', '=', 'active').execute();
}
