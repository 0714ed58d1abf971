import { sql, type RawBuilder } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';

/**
 * The role names of a user for the token's informative `roles` claim: the platform role of staff,
 * the keys (default roles) or names (custom roles) of a tenant user's assignments.
 */
function rolesOf(user: 'users' | 'u'): RawBuilder<string[]> {
  return sql<string[]>`case when ${sql.ref(`${user}.tenant_id`)} is null then array[${sql.ref(`${user}.platform_role`)}]
    else array(select coalesce(r.key, r.name) from role_assignments a
               join roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
               where a.user_id = ${sql.ref(`${user}.id`)} order by 1) end`;
}

export function findUserByEmail(tx: Tx, email: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'tenant_id', 'email', 'name', 'status', 'password_hash', rolesOf('users').as('roles')])
    .where('email', '=', email)
    .executeTakeFirst();
}

/** A user with the slug of its tenant (none for operators), in one query. */
export function findUserWithTenant(tx: Tx, id: string) {
  return tx
    .selectFrom('users as u')
    .leftJoin('tenants as t', 't.id', 'u.tenant_id')
    .select(['u.id', 'u.tenant_id', 'u.email', 'u.name', 't.slug as tenant_slug', rolesOf('u').as('roles')])
    .where('u.id', '=', id)
    .executeTakeFirst();
}

export function insertSession(
  tx: Tx,
  session: {
    tenant_id: string | null;
    user_id: string;
    ip: string | null;
    user_agent: string | null;
    expires_at: Date;
    amr: string[];
    elevated_role?: 'super_admin' | null;
    mfa_at?: Date | null;
  },
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
      'r.used_at',
      'r.successor_sealed',
      'r.session_id',
      's.status as session_status',
      's.expires_at as session_expires_at',
      's.amr',
      's.mfa_at',
      's.impersonator_id',
      's.elevated_role',
      'u.id as user_id',
      rolesOf('u').as('roles'),
      'u.status as user_status',
    ])
    .where('r.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** When a session ends; for the impersonation banner. */
export function findSessionExpiry(tx: Tx, id: string) {
  return tx.selectFrom('sessions').select('expires_at').where('id', '=', id).executeTakeFirst();
}

/** Marks an active token used, keeping its sealed successor; returns false if another request got there first. */
export async function claimRefreshToken(tx: Tx, id: string, successorSealed: string): Promise<boolean> {
  const result = await tx
    .updateTable('refresh_tokens')
    .set({ status: 'rotated', used_at: new Date(), successor_sealed: successorSealed })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

