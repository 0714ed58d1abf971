import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { Cursor } from '../../kernel/http/schemas.ts';

// Platform plane ---------------------------------------------------------------------------------

/** The caller's own platform session: its end bounds the impersonation, its amr is carried over. */
export function findStaffSession(tx: Tx, sessionId: string) {
  return tx.selectFrom('sessions').select(['expires_at', 'amr', 'status']).where('id', '=', sessionId).where('tenant_id', 'is', null).executeTakeFirst();
}

/** A platform staff member (the platform role sees only users without a tenant). */
export function findStaffMember(tx: Tx, userId: string) {
  return tx.selectFrom('users').select('id').where('id', '=', userId).where('tenant_id', 'is', null).executeTakeFirst();
}

export function findTenantStatus(tx: Tx, tenantId: string) {
  return tx.selectFrom('tenants').select(['id', 'status']).where('id', '=', tenantId).executeTakeFirst();
}

export function insertImpersonation(
  tx: Tx,
  row: {
    id: string;
    impersonator_id: string;
    target_tenant_id: string;
    target_user_id: string;
    reason: string;
    ticket_id: string | null;
    created_at: Date;
    expires_at: Date;
  },
) {
  return tx.insertInto('impersonations').values(row).execute();
}

export function findImpersonation(tx: Tx, id: string) {
  return tx.selectFrom('impersonations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks an impersonation ended; false when it already was. */
export async function markImpersonationEnded(tx: Tx, id: string, endedBy: string): Promise<boolean> {
  const result = await tx
    .updateTable('impersonations')
    .set({ ended_at: new Date(), ended_by: endedBy })
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Newest first, keyset-paged over (created_at, id), with the impersonator's address. */
export function listImpersonations(tx: Tx, options: { limit: number; before: Cursor | null; tenantId?: string | undefined }) {
  let query = tx
    .selectFrom('impersonations as i')
    .leftJoin('users as u', 'u.id', 'i.impersonator_id')
    .selectAll('i')
    .select('u.email as impersonator_email')
    .orderBy('i.created_at', 'desc')
    .orderBy('i.id', 'desc')
    .limit(options.limit + 1);
  if (options.tenantId) query = query.where('i.target_tenant_id', '=', options.tenantId);
  const before = options.before;
  if (before) query = query.where(sql<boolean>`(i.created_at, i.id) < (${before.createdAt}::timestamptz, ${before.id}::uuid)`);
  return query.execute();
}

// Tenant plane (after enterTenantContext, or in withTenant) ----------------------------------------

export function findTenantUser(tx: Tx, userId: string) {
  return tx.selectFrom('users').select(['id', 'status']).where('id', '=', userId).executeTakeFirst();
}

/** The staff member's live impersonation session of this user, if any. */
export function findLiveImpersonationSession(tx: Tx, impersonatorId: string, userId: string) {
  return tx
    .selectFrom('sessions')
    .select('id')
    .where('impersonator_id', '=', impersonatorId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
}

export function insertImpersonationSession(
  tx: Tx,
  session: {
    id: string;
    tenant_id: string;
    user_id: string;
    impersonator_id: string;
    impersonation_reason: string;
    expires_at: Date;
    amr: string[];
    ip: string | null;
    user_agent: string | null;
  },
) {
  return tx.insertInto('sessions').values(session).execute();
}

/** Ends an impersonation session (it has no refresh tokens to revoke). */
export async function revokeImpersonationSession(tx: Tx, id: string, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', id)
    .where('impersonator_id', 'is not', null)
    .where('status', '=', 'active')
    .execute();
}

/** Which of these impersonation sessions were ended from the tenant side (the session's own logout). */
export function findRevokedImpersonationSessions(tx: Tx, ids: string[]) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'revoked_at'])
    .where('id', 'in', ids)
    .where('impersonator_id', 'is not', null)
    .where('status', '=', 'revoked')
    .execute();
}
