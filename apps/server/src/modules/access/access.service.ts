import { recordAudit } from '../../kernel/audit/audit.ts';
import {
  CATALOG_VERSION,
  DEFAULT_TENANT_ROLES,
  isDefaultTenantRole,
  isPermission,
  isSensitive,
  planeOf,
  tenantGrants,
  type DefaultTenantRole,
  type Permission,
} from '../../kernel/auth/permissions.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { Platform } from '../../kernel/platform.ts';
import {
  assignedRolesOfUser,
  countAssignmentsOfRole,
  countOtherOwners,
  deleteAssignments,
  deleteRole,
  deleteUnit,
  findAssignment,
  findDefaultRoleId,
  findRole,
  findUnit,
  insertAssignment,
  insertRole,
  insertUnit,
  isWithinUnit,
  listAssignments,
  listCatalog,
  listRoles,
  listUnits,
  lockRole,
  updateRole,
  updateUnit,
} from './access.queries.ts';
import type {
  CreateAssignmentInput,
  CreateRoleInput,
  CreateUnitInput,
  ListAssignmentsQueryType,
  UpdateRoleInput,
  UpdateUnitInput,
} from './access.schemas.ts';

type RoleRow = NonNullable<Awaited<ReturnType<typeof findRole>>>;

/** The permissions a role grants: a default role's from code, a custom role's from its row. */
export function effectivePermissions(role: { key: string | null; permissions: string[] }): Permission[] {
  if (role.key !== null && isDefaultTenantRole(role.key)) return [...DEFAULT_TENANT_ROLES[role.key].permissions];
  return role.permissions.filter((key): key is Permission => isPermission(key) && planeOf(key) === 'tenant');
}

/** Whether any role of the user grants a sensitive permission (an Owner's, an Administrator's, an audit export…). */
export async function holdsSensitivePermission(tx: Tx, userId: string): Promise<boolean> {
  return [...tenantGrants(await assignedRolesOfUser(tx, userId)).keys()].some(isSensitive);
}

const roleView = (row: RoleRow) => withIsoDates({ ...row, permissions: effectivePermissions(row) });

/** Custom roles hold tenant-plane catalog permissions only; anything else is refused by name. */
function checkedPermissions(permissions: string[]): string[] {
  const refused = permissions.filter((key) => !isPermission(key) || planeOf(key) !== 'tenant');
  if (refused.length > 0) {
    throw new AppError('validation', `Not tenant permissions of the catalog: ${refused.join(', ')}.`, { permissions: refused });
  }
  return permissions;
}

/**
 * Nobody grants more than they hold: each permission given through a role must be one the caller
 * holds tenant-wide (an Administrator cannot make anyone an Owner).
 */
export function assertHoldsAll(ctx: RequestContext, permissions: readonly string[]) {
  const missing = permissions.filter((key) => !isPermission(key) || ctx.actor?.grants.get(key) !== 'all');
  if (missing.length > 0) {
    throw new AppError('forbidden', `You cannot grant permissions you do not hold tenant-wide: ${missing.join(', ')}.`);
  }
}

/**
 * Nobody changes their own role assignments, whatever they hold: an Owner cannot step down by
 * mistake, and a holder of roles.manage cannot reshape their own access. Another person does it.
 */
export function assertNotOwnRoles(ctx: RequestContext, userId: string) {
  if (ctx.actor?.userId === userId) throw new AppError('own-role-change', 'Another user with the permission must change your roles.');
}

/** Roles, organization units and role assignments of a tenant (FR-RBAC-002/003, FR-TEN-005). */
export function createAccessService(platform: Platform) {
  const { db, sessions, users } = platform;

  /** A change to who holds what: audited, and every node resolves the tenant's grants again. */
  async function changeGrants<T>(ctx: RequestContext, fn: (tx: Tx, tenantId: string) => Promise<T>): Promise<T> {
    const scope = scopeOf(ctx);
    return withRevocation(sessions, { kind: 'grants', id: scope.tenantId }, () =>
      db.withTenant(ctx, async (tx) => {
        const result = await fn(tx, scope.tenantId);
        await announceRevocation(tx, { kind: 'grants', id: scope.tenantId });
        return result;
      }),
    );
  }

  async function customRoleOrFail(tx: Tx, id: string, version?: number) {
    const role = await findRole(tx, id);
    if (!role) throw new AppError('not-found');
    if (role.key !== null) throw new AppError('default-role', 'Default roles cannot be changed or deleted.');
    if (version !== undefined && role.version !== version) {
      throw new AppError('version-conflict', `The current version is ${role.version}.`, { current_version: role.version });
    }
    return role;
  }

  return {
    async catalog(_ctx: RequestContext) {
      const items = await db.withPlatform((tx) => listCatalog(tx));
      return { version: CATALOG_VERSION, items: items.map(({ catalog_version: _, ...item }) => item) };
    },

    async listRoles(ctx: RequestContext) {
      const rows = await db.withTenant(ctx, (tx) => listRoles(tx));
      return { items: rows.map(roleView), next_cursor: null };
    },

    async getRole(ctx: RequestContext, id: string) {
      const row = await db.withTenant(ctx, (tx) => findRole(tx, id));
      if (!row) throw new AppError('not-found');
      return roleView(row);
    },

    async createRole(ctx: RequestContext, input: CreateRoleInput) {
      const permissions = checkedPermissions(input.permissions);
      assertHoldsAll(ctx, permissions);
      const { tenantId } = scopeOf(ctx);
      const row = await db.withTenant(ctx, async (tx) => {
        const created = await insertRole(tx, tenantId, { name: input.name, description: input.description ?? '', permissions });
        await recordAudit(tx, ctx, { tenantId, action: 'role.created', resourceType: 'role', resourceId: created.id, metadata: { name: input.name, permissions } });
        return created;
      });
      return roleView(row);
    },

    async updateRole(ctx: RequestContext, id: string, input: UpdateRoleInput) {
      const { version, ...changes } = input;
      if (changes.permissions) assertHoldsAll(ctx, checkedPermissions(changes.permissions));
      const row = await changeGrants(ctx, async (tx, tenantId) => {
        const current = await customRoleOrFail(tx, id, version);
        if (changes.permissions) {
          // Removing permissions is always allowed; adding needs the caller to hold them (above).
          assertHoldsAll(ctx, changes.permissions.filter((key) => !current.permissions.includes(key)));
        }
        const updated = await updateRole(tx, id, version, changes);
        if (!updated) throw new AppError('version-conflict');
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'role.updated',
          resourceType: 'role',
          resourceId: id,
          metadata: { fields: Object.keys(changes), before: current.permissions, after: updated.permissions },
        });
        return updated;
      });
      return roleView(row);
    },

    async deleteRole(ctx: RequestContext, id: string) {
      await changeGrants(ctx, async (tx, tenantId) => {
        const role = await customRoleOrFail(tx, id);
        const { count } = await countAssignmentsOfRole(tx, id);
        if (Number(count) > 0) throw new AppError('conflict', `The role is assigned ${count} time(s); remove the assignments first.`);
        await deleteRole(tx, id);
        await recordAudit(tx, ctx, { tenantId, action: 'role.deleted', resourceType: 'role', resourceId: id, metadata: { name: role.name } });
      });
    },

    async listUnits(ctx: RequestContext) {
      const rows = await db.withTenant(ctx, (tx) => listUnits(tx));
      return { items: rows.map(withIsoDates), next_cursor: null };
    },

    async getUnit(ctx: RequestContext, id: string) {
      const row = await db.withTenant(ctx, (tx) => findUnit(tx, id));
      if (!row) throw new AppError('not-found');
      return withIsoDates(row);
    },

    async createUnit(ctx: RequestContext, input: CreateUnitInput) {
      const { tenantId } = scopeOf(ctx);
      const row = await db.withTenant(ctx, async (tx) => {
        if (input.parent_id && !(await findUnit(tx, input.parent_id))) throw new AppError('validation', 'The parent unit does not exist.');
        const created = await insertUnit(tx, tenantId, { name: input.name, parent_id: input.parent_id ?? null });
        await recordAudit(tx, ctx, { tenantId, action: 'unit.created', resourceType: 'org_unit', resourceId: created.id, metadata: { name: input.name } });
        return created;
      });
      return withIsoDates(row);
    },

    async updateUnit(ctx: RequestContext, id: string, input: UpdateUnitInput) {
      const { version, ...changes } = input;
      const { tenantId } = scopeOf(ctx);
      const row = await db.withTenant(ctx, async (tx) => {
        const current = await findUnit(tx, id);
        if (!current) throw new AppError('not-found');
        if (changes.parent_id) {
          if (!(await findUnit(tx, changes.parent_id))) throw new AppError('validation', 'The parent unit does not exist.');
          if (await isWithinUnit(tx, changes.parent_id, id)) throw new AppError('validation', 'A unit cannot move under itself.');
        }
        const updated = await updateUnit(tx, id, version, changes);
        if (!updated) throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
        await recordAudit(tx, ctx, { tenantId, action: 'unit.updated', resourceType: 'org_unit', resourceId: id, metadata: { fields: Object.keys(changes) } });
        return updated;
      });
      return withIsoDates(row);
    },

    async deleteUnit(ctx: RequestContext, id: string) {
      const { tenantId } = scopeOf(ctx);
      await db.withTenant(ctx, async (tx) => {
        if (!(await findUnit(tx, id))) throw new AppError('not-found');
        // Sub-units, assignments and rows in the unit keep it: the foreign keys answer 409.
        await deleteUnit(tx, id);
        await recordAudit(tx, ctx, { tenantId, action: 'unit.deleted', resourceType: 'org_unit', resourceId: id });
      });
    },

    async listAssignments(ctx: RequestContext, query: ListAssignmentsQueryType) {
      const rows = await db.withTenant(ctx, (tx) => listAssignments(tx, { userId: query.user_id, roleId: query.role_id, unitId: query.unit_id }));
      return { items: rows.map(withIsoDates), next_cursor: null };
    },

    async assign(ctx: RequestContext, input: CreateAssignmentInput) {
      assertNotOwnRoles(ctx, input.user_id);
      const row = await changeGrants(ctx, async (tx, tenantId) => {
        const [user, role] = await Promise.all([users.findById(tx, input.user_id), findRole(tx, input.role_id)]);
        if (!user) throw new AppError('validation', 'The user does not exist.');
        if (!role) throw new AppError('validation', 'The role does not exist.');
        if (input.unit_id && !(await findUnit(tx, input.unit_id))) throw new AppError('validation', 'The unit does not exist.');
        assertHoldsAll(ctx, effectivePermissions(role));
        const created = await insertAssignment(tx, tenantId, { user_id: input.user_id, role_id: input.role_id, unit_id: input.unit_id ?? null });
        if (!created) throw new AppError('conflict', 'The user already holds this role there.');
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'role.assigned',
          resourceType: 'user',
          resourceId: input.user_id,
          metadata: { role_id: role.id, role: role.key ?? role.name, unit_id: created.unit_id },
        });
        return created;
      });
      return withIsoDates(row);
    },

    async unassign(ctx: RequestContext, id: string) {
      await changeGrants(ctx, async (tx, tenantId) => {
        const assignment = await findAssignment(tx, id);
        if (!assignment) throw new AppError('not-found');
        assertNotOwnRoles(ctx, assignment.user_id);
        const role = await lockRole(tx, assignment.role_id);
        if (role) assertHoldsAll(ctx, effectivePermissions(role));
        if (role?.key === 'owner' && assignment.unit_id === null && (await countOtherOwners(tx, assignment.user_id)) === 0) {
          throw new AppError('last-owner', 'The organization must keep at least one active Owner.');
        }
        await deleteAssignments(tx, { id });
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'role.unassigned',
          resourceType: 'user',
          resourceId: assignment.user_id,
          metadata: { role_id: assignment.role_id, role: role?.key ?? role?.name, unit_id: assignment.unit_id },
        });
      });
    },
  };
}

/**
 * Gives a new tenant user one of the default roles, tenant-wide (provisioning, invitations); runs
 * in the caller's transaction and tenant context.
 */
export async function assignDefaultRole(tx: Tx, tenantId: string, userId: string, key: DefaultTenantRole) {
  const role = await findDefaultRoleId(tx, key);
  if (!role) throw new Error(`tenant ${tenantId} has no default role ${key}`);
  await insertAssignment(tx, tenantId, { user_id: userId, role_id: role.id, unit_id: null });
}

export type AccessService = ReturnType<typeof createAccessService>;
