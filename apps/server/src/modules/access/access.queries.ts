import { sql } from 'kysely';
import { CATALOG_VERSION, DEFAULT_TENANT_ROLES, PERMISSION_CATALOG, type AssignedRole, type DefaultTenantRole } from '../../kernel/auth/permissions.ts';
import type { Tx } from '../../kernel/db/database.ts';
import type { DB } from '../../kernel/db/schema.ts';
import type { Kysely } from 'kysely';

const ROLE_COLUMNS = ['id', 'key', 'name', 'description', 'permissions', 'version', 'created_at', 'updated_at'] as const;
const UNIT_COLUMNS = ['id', 'parent_id', 'name', 'version', 'created_at', 'updated_at'] as const;
const ASSIGNMENT_COLUMNS = ['id', 'user_id', 'role_id', 'unit_id', 'created_at'] as const;

/**
 * CAUTION: owner connection. Copies the catalog from code into its read-only table, after the
 * migrations have run, so the table always matches the deployed code.
 */
export async function syncPermissionCatalog(owner: Kysely<DB>): Promise<void> {
  const rows = Object.entries(PERMISSION_CATALOG).map(([key, spec]) => ({
    key,
    description: spec.description,
    plane: spec.plane,
    sensitive: 'sensitive' in spec && spec.sensitive === true,
    catalog_version: CATALOG_VERSION,
  }));
  await owner.transaction().execute(async (trx) => {
    await trx.deleteFrom('permissions').where('key', 'not in', rows.map((row) => row.key)).execute();
    await trx
      .insertInto('permissions')
      .values(rows)
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          description: eb.ref('excluded.description'),
          plane: eb.ref('excluded.plane'),
          sensitive: eb.ref('excluded.sensitive'),
          catalog_version: eb.ref('excluded.catalog_version'),
        })),
      )
      .execute();
  });
}

export function listCatalog(tx: Tx) {
  return tx.selectFrom('permissions').selectAll().orderBy('key').execute();
}

/** The default roles of a new tenant (in its context); returns their ids by key. */
export async function insertDefaultRoles(tx: Tx, tenantId: string): Promise<Record<DefaultTenantRole, string>> {
  const rows = await tx
    .insertInto('roles')
    .values(Object.entries(DEFAULT_TENANT_ROLES).map(([key, role]) => ({ tenant_id: tenantId, key, name: role.name })))
    .returning(['id', 'key'])
    .execute();
  return Object.fromEntries(rows.map((row) => [row.key, row.id])) as Record<DefaultTenantRole, string>;
}

export function findDefaultRoleId(tx: Tx, key: DefaultTenantRole) {
  return tx.selectFrom('roles').select('id').where('key', '=', key).executeTakeFirst();
}

export function listRoles(tx: Tx) {
  return tx.selectFrom('roles').select(ROLE_COLUMNS).orderBy('created_at').orderBy('id').execute();
}

export function findRole(tx: Tx, id: string) {
  return tx.selectFrom('roles').select(ROLE_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** Locks a role row: changes to the Owner role's holders are serialised on it (last Owner rule). */
export function lockRole(tx: Tx, id: string) {
  return tx.selectFrom('roles').select(ROLE_COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst();
}

export function insertRole(tx: Tx, tenantId: string, values: { name: string; description: string; permissions: string[] }) {
  return tx.insertInto('roles').values({ tenant_id: tenantId, ...values }).returning(ROLE_COLUMNS).executeTakeFirstOrThrow();
}

export function updateRole(tx: Tx, id: string, version: number, changes: Partial<{ name: string; description: string; permissions: string[] }>) {
  return tx
    .updateTable('roles')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('version', '=', version)
    .where('key', 'is', null)
    .returning(ROLE_COLUMNS)
    .executeTakeFirst();
}

export async function deleteRole(tx: Tx, id: string) {
  const result = await tx.deleteFrom('roles').where('id', '=', id).where('key', 'is', null).executeTakeFirst();
  return result.numDeletedRows === 1n;
}

export function countAssignmentsOfRole(tx: Tx, roleId: string) {
  return tx.selectFrom('role_assignments').select((eb) => eb.fn.countAll<number>().as('count')).where('role_id', '=', roleId).executeTakeFirstOrThrow();
}

export function listUnits(tx: Tx) {
  return tx.selectFrom('org_units').select(UNIT_COLUMNS).orderBy('created_at').orderBy('id').execute();
}

export function findUnit(tx: Tx, id: string) {
  return tx.selectFrom('org_units').select(UNIT_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export function insertUnit(tx: Tx, tenantId: string, values: { name: string; parent_id: string | null }) {
  return tx.insertInto('org_units').values({ tenant_id: tenantId, ...values }).returning(UNIT_COLUMNS).executeTakeFirstOrThrow();
}

export function updateUnit(tx: Tx, id: string, version: number, changes: Partial<{ name: string; parent_id: string | null }>) {
  return tx
    .updateTable('org_units')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('version', '=', version)
    .returning(UNIT_COLUMNS)
    .executeTakeFirst();
}

/** True when `candidate` is `unitId` or one of its descendants (a move there would make a cycle). */
export async function isWithinUnit(tx: Tx, candidate: string, unitId: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    with recursive up as (
      select id, parent_id from org_units where id = ${candidate}
      union all
      select u.id, u.parent_id from org_units u join up on u.id = up.parent_id
    )
    select exists (select 1 from up where id = ${unitId}) as found`.execute(tx);
  return rows[0]?.found === true;
}

export async function deleteUnit(tx: Tx, id: string) {
  const result = await tx.deleteFrom('org_units').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows === 1n;
}

export function listAssignments(tx: Tx, filter: { userId?: string | undefined; roleId?: string | undefined; unitId?: string | undefined }) {
  let query = tx.selectFrom('role_assignments').select(ASSIGNMENT_COLUMNS).orderBy('created_at').orderBy('id');
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.roleId) query = query.where('role_id', '=', filter.roleId);
  if (filter.unitId) query = query.where('unit_id', '=', filter.unitId);
  return query.execute();
}

export function findAssignment(tx: Tx, id: string) {
  return tx.selectFrom('role_assignments').select(ASSIGNMENT_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export function insertAssignment(tx: Tx, tenantId: string, values: { user_id: string; role_id: string; unit_id: string | null }) {
  return tx
    .insertInto('role_assignments')
    .values({ tenant_id: tenantId, ...values })
    .onConflict((oc) => oc.constraint('role_assignments_once').doNothing())
    .returning(ASSIGNMENT_COLUMNS)
    .executeTakeFirst();
}

export function deleteAssignments(tx: Tx, filter: { id?: string; userId?: string }) {
  let query = tx.deleteFrom('role_assignments');
  if (filter.id) query = query.where('id', '=', filter.id);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  return query.returning(['id', 'role_id', 'unit_id', 'user_id']).execute();
}

/** Active users holding the Owner role tenant-wide, besides `exceptUserId`. */
export async function countOtherOwners(tx: Tx, exceptUserId: string): Promise<number> {
  const row = await tx
    .selectFrom('role_assignments as a')
    .innerJoin('roles as r', (join) => join.onRef('r.tenant_id', '=', 'a.tenant_id').onRef('r.id', '=', 'a.role_id'))
    .innerJoin('users as u', (join) => join.onRef('u.tenant_id', '=', 'a.tenant_id').onRef('u.id', '=', 'a.user_id'))
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('r.key', '=', 'owner')
    .where('a.unit_id', 'is', null)
    .where('u.status', '=', 'active')
    .where('a.user_id', '!=', exceptUserId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The roles (and units) a user holds, for the token's informative `roles` claim and the users API. */
export function rolesOfUser(tx: Tx, userId: string) {
  return tx
    .selectFrom('role_assignments as a')
    .innerJoin('roles as r', (join) => join.onRef('r.tenant_id', '=', 'a.tenant_id').onRef('r.id', '=', 'a.role_id'))
    .select(['a.id', 'a.role_id', 'a.unit_id', 'r.key', 'r.name'])
    .where('a.user_id', '=', userId)
    .execute();
}

/** A user's assignments as the authorization check folds them (`tenantGrants`). */
export async function assignedRolesOfUser(tx: Tx, userId: string): Promise<AssignedRole[]> {
  const rows = await tx
    .selectFrom('role_assignments as a')
    .innerJoin('roles as r', (join) => join.onRef('r.tenant_id', '=', 'a.tenant_id').onRef('r.id', '=', 'a.role_id'))
    .select(['r.key', 'r.permissions', 'a.unit_id'])
    .where('a.user_id', '=', userId)
    .execute();
  return rows.map((row) => ({ roleKey: row.key, permissions: row.permissions, unitId: row.unit_id }));
}

