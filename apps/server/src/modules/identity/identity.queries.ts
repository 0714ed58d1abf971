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

/** A user with the role keys it holds. */
export function findUserById(tx: Tx, id: string) {
  return tx
    .selectFrom('users as u')
    .select(['u.id', 'u.tenant_id', 'u.email', 'u.name', 'u.status', rolesOf('u').as('roles')])
    .where('u.id', '=', id)
    .executeTakeFirst();
}
