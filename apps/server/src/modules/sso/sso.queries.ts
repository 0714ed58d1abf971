import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { TenantSsoConfigsTable } from './sso.tables.ts';

export function findSsoConfig(tx: Tx) {
  return tx.selectFrom('tenant_sso_configs').selectAll().executeTakeFirst();
}

export type SsoConfigRow = NonNullable<Awaited<ReturnType<typeof findSsoConfig>>>;

export function insertSsoConfig(
  tx: Tx,
  row: Pick<TenantSsoConfigsTable, 'tenant_id' | 'issuer' | 'client_id' | 'client_secret_sealed' | 'allowed_domains' | 'default_role' | 'updated_by'> & {
    enabled: boolean;
    link_existing_accounts: boolean;
  },
) {
  return tx.insertInto('tenant_sso_configs').values(row).returningAll().executeTakeFirstOrThrow();
}

/** Updates the configuration if it is still at `version`; undefined when someone changed it first. */
export function updateSsoConfig(
  tx: Tx,
  version: number,
  changes: Pick<TenantSsoConfigsTable, 'issuer' | 'client_id' | 'client_secret_sealed' | 'allowed_domains' | 'default_role' | 'updated_by'> & {
    enabled: boolean;
    link_existing_accounts: boolean;
  },
) {
  return tx
    .updateTable('tenant_sso_configs')
    .set({ ...changes, version: sql`version + 1`, updated_at: new Date() })
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

export function deleteSsoConfig(tx: Tx) {
  return tx.deleteFrom('tenant_sso_configs').returning(['issuer']).executeTakeFirst();
}

export function insertSsoLogin(
  tx: Tx,
  row: { tenant_id: string | null; state_hash: string; browser_hash: string; secrets_sealed: string; expires_at: Date; link_user_id: string | null },
) {
  return tx.insertInto('sso_logins').values(row).returning('id').executeTakeFirstOrThrow();
}

/** Sign-ins of the context that ended long ago: nothing reads them any more. */
export function purgeSsoLogins(tx: Tx, before: Date) {
  return tx.deleteFrom('sso_logins').where('created_at', '<', before).execute();
}

export function findSsoLoginByState(tx: Tx, stateHash: string) {
  return tx.selectFrom('sso_logins').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
}

/** Marks the state used; false when another request used it first. */
export async function claimSsoState(tx: Tx, id: string): Promise<boolean> {
  const result = await tx.updateTable('sso_logins').set({ state_used_at: new Date() }).where('id', '=', id).where('state_used_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export function setSsoLoginCode(tx: Tx, id: string, result: { code_hash: string; code_expires_at: Date; user_id: string; amr: string[]; elevated_by: string | null }) {
  return tx.updateTable('sso_logins').set(result).where('id', '=', id).execute();
}

export function findSsoLoginByCode(tx: Tx, codeHash: string) {
  return tx.selectFrom('sso_logins').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
}

/** Marks the one-time code used; false when it was used already. */
export async function claimSsoCode(tx: Tx, id: string): Promise<boolean> {
  const result = await tx.updateTable('sso_logins').set({ exchanged_at: new Date() }).where('id', '=', id).where('exchanged_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** The user a provider subject is linked to, in the transaction's context (a tenant, or the platform). */
export function findIdentity(tx: Tx, tenantId: string | null, provider: string, subject: string) {
  return tx
    .selectFrom('user_identities')
    .select(['id', 'user_id'])
    .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
    .where('provider', '=', provider)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

export function hasIdentityAt(tx: Tx, userId: string, provider: string) {
  return tx.selectFrom('user_identities').select('id').where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst();
}

export function insertIdentity(tx: Tx, row: { tenant_id: string | null; user_id: string; provider: string; subject: string; email: string | null }) {
  return tx.insertInto('user_identities').values({ ...row, last_login_at: new Date() }).returning('id').executeTakeFirstOrThrow();
}

export function touchIdentity(tx: Tx, id: string) {
  return tx.updateTable('user_identities').set({ last_login_at: new Date() }).where('id', '=', id).execute();
}

/** A live account by its (normalised) address in the transaction's context. */
export function findAccountByEmail(tx: Tx, tenantId: string | null, email: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'status'])
    .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
    .where('email', '=', email)
    .executeTakeFirst();
}

export function findAccountStatus(tx: Tx, userId: string) {
  return tx.selectFrom('users').select(['status']).where('id', '=', userId).executeTakeFirst();
}

/** An address the identity provider vouched for is verified (the column belongs to email verification). */
export async function markEmailVerified(tx: Tx, userId: string) {
  await sql`update users set email_verified_at = coalesce(email_verified_at, now()) where id = ${userId}`.execute(tx);
}
