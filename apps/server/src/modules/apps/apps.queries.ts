import type { Tx } from '../../kernel/db/database.ts';
import { afterCursor } from '../../kernel/db/query-helpers.ts';
import type { Cursor } from '../../kernel/paging.ts';
import type { EnvironmentName } from './apps.schemas.ts';

const APP_COLUMNS = ['id', 'name', 'environment', 'owner', 'status', 'version', 'created_at', 'updated_at', 'disabled_at'] as const;
const KEY_COLUMNS = ['id', 'app_id', 'prefix', 'scopes', 'tenant_ids', 'expires_at', 'created_at', 'revoked_at', 'last_used_at'] as const;

export function insertApplication(tx: Tx, values: { name: string; environment: EnvironmentName; owner: string }) {
  return tx.insertInto('applications').values(values).returning(APP_COLUMNS).executeTakeFirstOrThrow();
}

export function findApplicationById(tx: Tx, id: string) {
  return tx.selectFrom('applications').select(APP_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export function listApplications(tx: Tx, options: { limit: number; after: Cursor | null; status?: 'active' | 'disabled' | undefined }) {
  let query = tx.selectFrom('applications').select(APP_COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (options.status) query = query.where('status', '=', options.status);
  return afterCursor(query, options.after).execute();
}

/** Sets the status; undefined when there is no such application. */
export function setApplicationStatus(tx: Tx, id: string, status: 'active' | 'disabled') {
  return tx
    .updateTable('applications')
    .set((eb) => ({ status, disabled_at: status === 'disabled' ? new Date() : null, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .returning(APP_COLUMNS)
    .executeTakeFirst();
}

export function insertApplicationKey(
  tx: Tx,
  values: { app_id: string; prefix: string; secret_hash: string; scopes: string[]; tenant_ids: string[] | null; expires_at: Date | null },
) {
  return tx.insertInto('application_keys').values(values).returning(KEY_COLUMNS).executeTakeFirstOrThrow();
}

export function listApplicationKeys(tx: Tx, appId: string) {
  return tx.selectFrom('application_keys').select(KEY_COLUMNS).where('app_id', '=', appId).orderBy('created_at').orderBy('id').execute();
}

export function findApplicationKey(tx: Tx, appId: string, keyId: string) {
  return tx.selectFrom('application_keys').select(KEY_COLUMNS).where('app_id', '=', appId).where('id', '=', keyId).executeTakeFirst();
}

/** Revokes a live key of the application; undefined when there is none (missing or already revoked). */
export function revokeApplicationKey(tx: Tx, appId: string, keyId: string) {
  return tx
    .updateTable('application_keys')
    .set({ revoked_at: new Date() })
    .where('app_id', '=', appId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .returning(KEY_COLUMNS)
    .executeTakeFirst();
}

/** What authentication needs to know about a key, found by its public prefix. */
export function findKeyForAuthentication(tx: Tx, prefix: string) {
  return tx
    .selectFrom('application_keys as k')
    .innerJoin('applications as a', 'a.id', 'k.app_id')
    .select(['k.id', 'k.app_id', 'k.secret_hash', 'k.scopes', 'k.tenant_ids', 'k.expires_at', 'k.revoked_at', 'k.last_used_at', 'a.status as app_status'])
    .where('k.prefix', '=', prefix)
    .executeTakeFirst();
}

/** Last use, written at most once a minute per key whatever the number of nodes. */
export function touchApplicationKey(tx: Tx, keyId: string) {
  return tx
    .updateTable('application_keys')
    .set({ last_used_at: new Date() })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(Date.now() - 60_000))]))
    .execute();
}
