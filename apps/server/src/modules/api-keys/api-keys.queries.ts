import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';

const LISTED = ['id', 'name', 'prefix', 'scopes', 'expires_at', 'created_by', 'created_at', 'last_used_at', 'revoked_at', 'replaced_by'] as const;

export function insertApiKey(
  tx: Tx,
  values: { tenant_id: string; name: string; prefix: string; secret_hash: string; scopes: string[]; expires_at: Date | null; created_by: string },
) {
  return tx.insertInto('api_keys').values(values).returning(LISTED).executeTakeFirstOrThrow();
}

export function listApiKeys(tx: Tx) {
  return tx.selectFrom('api_keys').select(LISTED).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1_000).execute();
}

export function findApiKey(tx: Tx, id: string) {
  return tx.selectFrom('api_keys').select(LISTED).where('id', '=', id).executeTakeFirst();
}

export function revokeApiKey(tx: Tx, id: string, revokedBy: string) {
  return tx
    .updateTable('api_keys')
    .set({ revoked_at: new Date(), revoked_by: revokedBy })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
}

/** Ends the old key of a rotation at the end of the overlap (or sooner, when it expired sooner). */
export function endRotatedKey(tx: Tx, id: string, until: Date, replacedBy: string) {
  return tx
    .updateTable('api_keys')
    .set({ expires_at: sql<Date>`least(coalesce(expires_at, ${until}), ${until})`, replaced_by: replacedBy })
    .where('id', '=', id)
    .execute();
}

/** Platform plane: which tenant a presented prefix belongs to (the only columns the platform role may read). */
export function findTenantOfPrefix(tx: Tx, prefix: string) {
  return tx.selectFrom('api_keys').select('tenant_id').where('prefix', '=', prefix).executeTakeFirst();
}

export interface KeyForAuthentication {
  id: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  created_by: string;
  creator_status: string;
  tenant_status: string;
  assignments: { k: string | null; p: string[]; u: string | null }[] | null;
}

/** The key with its creator's status and current role assignments, in one query. */
export async function findKeyForAuthentication(tx: Tx, prefix: string): Promise<KeyForAuthentication | undefined> {
  const { rows } = await sql<KeyForAuthentication>`
    select k.id, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, k.created_by, u.status as creator_status,
           t.status as tenant_status,
           (select json_agg(json_build_object('k', r.key, 'p', r.permissions, 'u', a.unit_id))
              from role_assignments a join roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
             where a.tenant_id = k.tenant_id and a.user_id = k.created_by) as assignments
    from api_keys k join users u on u.tenant_id = k.tenant_id and u.id = k.created_by join tenants t on t.id = k.tenant_id
    where k.prefix = ${prefix}`.execute(tx);
  return rows[0];
}

/** Last use, written at most once a minute per key whichever node sees it. */
export async function touchApiKey(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('api_keys')
    .set({ last_used_at: new Date() })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}
