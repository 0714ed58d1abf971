import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import { afterCursor } from '../../kernel/db/query-helpers.ts';
import type { Cursor } from '../../kernel/paging.ts';

const USER_COLUMNS = ['id', 'email', 'name', 'status', 'version', 'created_at', 'updated_at', 'deleted_at', 'deleted_email'] as const;

/** One role assignment of a user, with what the role grants (for the caller-outranks check). */
export interface UserRoleRow {
  assignment_id: string;
  role_id: string;
  key: string | null;
  name: string;
  unit_id: string | null;
  permissions: string[];
}

/**
 * A user's assignments with their roles, as one JSON column: a page of users is one query. The
 * users API reads the access module's tables here; every change to them goes through its functions.
 */
const rolesOfUser = sql<UserRoleRow[]>`coalesce((
  select json_agg(json_build_object('assignment_id', a.id, 'role_id', a.role_id, 'key', r.key, 'name', r.name,
                                    'unit_id', a.unit_id, 'permissions', r.permissions) order by a.created_at, a.id)
    from role_assignments a join roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
   where a.tenant_id = users.tenant_id and a.user_id = users.id), '[]'::json)`.as('roles');

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export function findUser(tx: Tx, id: string) {
  return tx.selectFrom('users').select([...USER_COLUMNS, rolesOfUser]).where('id', '=', id).executeTakeFirst();
}

export type UserRow = NonNullable<Awaited<ReturnType<typeof findUser>>>;

export function listUsers(
  tx: Tx,
  options: {
    limit: number;
    after: Cursor | null;
    q?: string | undefined;
    status?: 'active' | 'disabled' | 'deleted' | undefined;
    roleId?: string | undefined;
    unitId?: string | undefined;
  },
) {
  let query = tx.selectFrom('users').select([...USER_COLUMNS, rolesOfUser]).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  query = options.status ? query.where('status', '=', options.status) : query.where('status', '!=', 'deleted');
  if (options.q) {
    const pattern = `%${escapeLike(options.q)}%`;
    query = query.where((eb) => eb.or([eb('email', 'ilike', pattern), eb('name', 'ilike', pattern), eb('deleted_email', 'ilike', pattern)]));
  }
  const { roleId, unitId } = options;
  if (roleId || unitId) {
    query = query.where((eb) => {
      let holding = eb.selectFrom('role_assignments as a').select('a.id').whereRef('a.user_id', '=', 'users.id');
      if (roleId) holding = holding.where('a.role_id', '=', roleId);
      if (unitId) holding = holding.where('a.unit_id', '=', unitId);
      return eb.exists(holding);
    });
  }
  return afterCursor(query, options.after).execute();
}

/** A user who is not deleted with this address (deleted users no longer carry theirs). */
export function findUserByEmail(tx: Tx, email: string) {
  return tx.selectFrom('users').select(['id', 'status']).where('email', '=', email).executeTakeFirst();
}

/** Changes a user that is not deleted, raising its version; false when there is none. */
export async function updateUser(tx: Tx, id: string, changes: Partial<{ status: 'active' | 'disabled' }> = {}): Promise<boolean> {
  const result = await tx
    .updateTable('users')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('status', '!=', 'deleted')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Soft delete: the row stays, marked deleted, without a password; its address moves to
 * deleted_email and the email column gets an unusable one, so the address can be invited again.
 */
export async function markUserDeleted(tx: Tx, id: string): Promise<boolean> {
  const result = await tx
    .updateTable('users')
    .set((eb) => ({
      status: 'deleted',
      deleted_at: new Date(),
      deleted_email: eb.ref('email'),
      email: `deleted-${id}@deleted.invalid`,
      password_hash: null,
      version: eb('version', '+', 1),
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .where('status', '!=', 'deleted')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
