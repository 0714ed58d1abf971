import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import { afterCursor } from '../../kernel/db/query-helpers.ts';
import type { Cursor } from '../../kernel/paging.ts';
import type { InvitationStatusType } from './users.schemas.ts';

const COLUMNS = [
  'id',
  'email',
  'role_id',
  'unit_id',
  'status',
  'expires_at',
  'invited_by',
  'sent_count',
  'last_sent_at',
  'accepted_user_id',
  'accepted_at',
  'revoked_at',
  'version',
  'created_at',
  'updated_at',
] as const;

export function findInvitation(tx: Tx, id: string) {
  return tx.selectFrom('invitations').select([...COLUMNS, 'token_hash']).where('id', '=', id).executeTakeFirst();
}

export type InvitationRow = Omit<NonNullable<Awaited<ReturnType<typeof findInvitation>>>, 'token_hash'>;

/** A pending invitation whose link still works. */
export function findLiveInvitationByToken(tx: Tx, tokenHash: string) {
  return tx
    .selectFrom('invitations')
    .select(COLUMNS)
    .where('token_hash', '=', tokenHash)
    .where('status', '=', 'pending')
    .where(sql<boolean>`expires_at > now()`)
    .executeTakeFirst();
}

export function findLiveInvitationByEmail(tx: Tx, email: string) {
  return tx
    .selectFrom('invitations')
    .select('id')
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .where(sql<boolean>`expires_at > now()`)
    .executeTakeFirst();
}

/**
 * Stores 'expired' on pending invitations to this address past their expiry, so that a new one
 * may take the address (one pending invitation per address).
 */
export function expireLapsedInvitations(tx: Tx, email: string) {
  return tx
    .updateTable('invitations')
    .set((eb) => ({ status: 'expired', version: eb('version', '+', 1), updated_at: new Date() }))
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .where(sql<boolean>`expires_at <= now()`)
    .execute();
}

/** Expired is pending past expires_at, or stored once a newer invitation took the address. */
export function listInvitations(tx: Tx, options: { limit: number; after: Cursor | null; status?: InvitationStatusType | undefined }) {
  let query = tx.selectFrom('invitations').select(COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (options.status === 'pending') query = query.where('status', '=', 'pending').where(sql<boolean>`expires_at > now()`);
  else if (options.status === 'expired') query = query.where(sql<boolean>`(status = 'expired' or (status = 'pending' and expires_at <= now()))`);
  else if (options.status) query = query.where('status', '=', options.status);
  return afterCursor(query, options.after).execute();
}

export function insertInvitation(
  tx: Tx,
  tenantId: string,
  values: { email: string; role_id: string; unit_id: string | null; token_hash: string; expires_at: Date; invited_by: string | null },
) {
  return tx.insertInto('invitations').values({ tenant_id: tenantId, ...values }).returning(COLUMNS).executeTakeFirstOrThrow();
}

/** A new link for a pending or expired invitation: the old token hash is gone, so the old link fails. */
export function reissueInvitation(tx: Tx, id: string, values: { token_hash: string; expires_at: Date }) {
  return tx
    .updateTable('invitations')
    .set((eb) => ({
      ...values,
      status: 'pending',
      sent_count: eb('sent_count', '+', 1),
      last_sent_at: new Date(),
      version: eb('version', '+', 1),
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'expired'])
    .returning(COLUMNS)
    .executeTakeFirst();
}

export function revokeInvitation(tx: Tx, id: string) {
  return tx
    .updateTable('invitations')
    .set((eb) => ({ status: 'revoked', revoked_at: new Date(), version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'expired'])
    .returning(COLUMNS)
    .executeTakeFirst();
}

/**
 * Claims a live invitation for acceptance. The row lock makes concurrent accepts of one token
 * queue; the condition lets exactly one of them through.
 */
export function claimInvitation(tx: Tx, tokenHash: string) {
  return tx
    .updateTable('invitations')
    .set((eb) => ({ status: 'accepted', accepted_at: new Date(), version: eb('version', '+', 1), updated_at: new Date() }))
    .where('token_hash', '=', tokenHash)
    .where('status', '=', 'pending')
    .where(sql<boolean>`expires_at > now()`)
    .returning(COLUMNS)
    .executeTakeFirst();
}

export function setAcceptedUser(tx: Tx, id: string, userId: string) {
  return tx.updateTable('invitations').set({ accepted_user_id: userId }).where('id', '=', id).execute();
}

export function findInvitationSettings(tx: Tx) {
  return tx.selectFrom('invitation_settings').select(['expiry_days', 'version', 'updated_at']).executeTakeFirst();
}

export function upsertInvitationSettings(tx: Tx, tenantId: string, values: { expiry_days: number; updated_by: string | null }) {
  return tx
    .insertInto('invitation_settings')
    .values({ tenant_id: tenantId, ...values })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet((eb) => ({
        expiry_days: eb.ref('excluded.expiry_days'),
        updated_by: eb.ref('excluded.updated_by'),
        version: eb('invitation_settings.version', '+', 1),
        updated_at: new Date(),
      })),
    )
    .returning(['expiry_days', 'version', 'updated_at'])
    .executeTakeFirstOrThrow();
}
