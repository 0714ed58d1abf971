import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { Cursor } from '../../kernel/paging.ts';

// Platform plane ---------------------------------------------------------------------------------

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

// Tenant plane (after continueInTenant, or in withTenant) ----------------------------------------


