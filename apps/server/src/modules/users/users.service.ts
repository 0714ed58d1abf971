import { recordAudit } from '../../kernel/audit/audit.ts';
import { withRevocation } from '../../kernel/auth/revocation.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import type { Platform } from '../../kernel/platform.ts';
import {
  assertHoldsAll,
  assertNotOwnRoles,
  countOtherOwners,
  deleteAssignments,
  effectivePermissions,
  findDefaultRoleId,
  findRole,
  findUnit,
  insertAssignment,
  lockRole,
} from '../access/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { findUser, listUsers, markUserDeleted, updateUser, type UserRow } from './users.queries.ts';
import type { ChangeRoleInput, ListUsersQueryType } from './users.schemas.ts';

export function userView(row: UserRow) {
  return {
    id: row.id,
    email: row.deleted_email ?? row.email,
    name: row.name,
    status: row.status,
    roles: row.roles.map(({ assignment_id, role_id, key, name, unit_id }) => ({ assignment_id, role_id, key, name, unit_id })),
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    deleted_at: row.deleted_at?.toISOString() ?? null,
  };
}

/**
 * Users and invitations belong to the whole organization, not to a unit: inviting and managing
 * them needs the route's permission held tenant-wide.
 */
export function assertTenantWide(ctx: RequestContext): void {
  if (ctx.reach !== 'all') throw new AppError('forbidden', 'Managing users needs the permission for the whole organization, not a unit.');
}

const rolesSummary = (roles: UserRow['roles']) => roles.map((role) => ({ role_id: role.role_id, role: role.key ?? role.name, unit_id: role.unit_id }));

const holdsOwnerTenantWide = (user: UserRow) => user.roles.some((role) => role.key === 'owner' && role.unit_id === null);

/**
 * The last-Owner rule (FR-TENANT-002): an active Owner cannot lose the role, be disabled or be
 * deleted when no other active Owner holds it tenant-wide. The caller holds the Owner role row's
 * lock, so two concurrent removals cannot both see the other as the remaining Owner.
 */
async function assertNotLastOwner(tx: Tx, user: UserRow): Promise<void> {
  if (user.status === 'active' && holdsOwnerTenantWide(user) && (await countOtherOwners(tx, user.id)) === 0) {
    throw new AppError('last-owner', 'The organization must keep at least one active Owner.');
  }
}

/** Nobody acts on a user who holds more than they do: an Administrator cannot disable an Owner. */
function assertOutranks(ctx: RequestContext, user: UserRow): void {
  assertHoldsAll(ctx, user.roles.flatMap((role) => effectivePermissions(role)));
}

function assertNotSelf(ctx: RequestContext, user: UserRow, what: string): void {
  if (ctx.actor?.userId === user.id) throw new AppError('conflict', `You cannot ${what} yourself.`);
}

/** The user lifecycle of a tenant (FR-TENANT-002, FR-TENANT-004, FR-TENANT-006). */
export function createUsersService(platform: Platform) {
  const { db, sessions } = platform;

  /**
   * One change to one user, in one transaction: the Owner role row is locked first (last-Owner
   * rule), a missing or deleted user is 404, and when the change asks for it every session of the
   * user ends in the same transaction, on every node (NOTIFY on commit, this node at once).
   */
  async function changeUser(
    ctx: RequestContext,
    userId: string,
    options: { revokeSessions: string | null },
    change: (tx: Tx, user: UserRow, tenantId: string) => Promise<boolean>,
  ): Promise<UserRow> {
    assertTenantWide(ctx);
    const scope = scopeOf(ctx);
    return withRevocation(sessions, { kind: 'user', id: userId }, () =>
      db.withTenant(ctx, async (tx) => {
        const owner = await findDefaultRoleId(tx, 'owner');
        if (owner) await lockRole(tx, owner.id);
        const user = await findUser(tx, userId);
        if (!user || user.status === 'deleted') throw new AppError('not-found');
        const changed = await change(tx, user, scope.tenantId);
        if (changed && options.revokeSessions) await revokeUserSessions(tx, userId, options.revokeSessions);
        return (await findUser(tx, userId)) ?? user;
      }),
    );
  }

  return {
    async list(ctx: RequestContext, query: ListUsersQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withTenant(ctx, (tx) =>
        listUsers(tx, { limit, after: decodeCursor(query.cursor), q: query.q, status: query.status, roleId: query.role_id, unitId: query.unit_id }),
      );
      return toPage(rows, limit, userView);
    },

    async get(ctx: RequestContext, id: string) {
      const row = await db.withTenant(ctx, (tx) => findUser(tx, id));
      if (!row || row.status === 'deleted') throw new AppError('not-found');
      return userView(row);
    },

    /**
     * Replaces all the user's role assignments with one (FR-TENANT-004). The caller must hold
     * tenant-wide every permission of the new role and of the roles taken away.
     */
    async changeRole(ctx: RequestContext, id: string, input: ChangeRoleInput) {
      assertNotOwnRoles(ctx, id);
      const row = await changeUser(ctx, id, { revokeSessions: 'role_changed' }, async (tx, user, tenantId) => {
        if (input.version !== undefined && input.version !== user.version) {
          throw new AppError('version-conflict', `The current version is ${user.version}.`, { current_version: user.version });
        }
        const role = await findRole(tx, input.role_id);
        if (!role) throw new AppError('validation', 'The role does not exist.');
        const unitId = input.unit_id ?? null;
        if (unitId && !(await findUnit(tx, unitId))) throw new AppError('validation', 'The unit does not exist.');
        assertHoldsAll(ctx, effectivePermissions(role));
        assertOutranks(ctx, user);
        if (role.key !== 'owner' || unitId !== null) await assertNotLastOwner(tx, user);
        await deleteAssignments(tx, { userId: id });
        await insertAssignment(tx, tenantId, { user_id: id, role_id: role.id, unit_id: unitId });
        await updateUser(tx, id);
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'user.role_changed',
          resourceType: 'user',
          resourceId: id,
          metadata: { before: rolesSummary(user.roles), after: [{ role_id: role.id, role: role.key ?? role.name, unit_id: unitId }] },
        });
        return true;
      });
      return userView(row);
    },

    /** Disables a user (FR-TENANT-006): sign-in refused, every session ended. */
    async disable(ctx: RequestContext, id: string) {
      const row = await changeUser(ctx, id, { revokeSessions: 'user_disabled' }, async (tx, user, tenantId) => {
        assertNotSelf(ctx, user, 'disable');
        assertOutranks(ctx, user);
        if (user.status === 'disabled') return false;
        await assertNotLastOwner(tx, user);
        await updateUser(tx, id, { status: 'disabled' });
        await recordAudit(tx, ctx, { tenantId, action: 'user.disabled', resourceType: 'user', resourceId: id });
        return true;
      });
      return userView(row);
    },

    async enable(ctx: RequestContext, id: string) {
      const row = await changeUser(ctx, id, { revokeSessions: null }, async (tx, user, tenantId) => {
        assertOutranks(ctx, user);
        if (user.status === 'active') return false;
        await updateUser(tx, id, { status: 'active' });
        await recordAudit(tx, ctx, { tenantId, action: 'user.enabled', resourceType: 'user', resourceId: id });
        return true;
      });
      return userView(row);
    },

    /**
     * Deletes a user (FR-TENANT-002), softly: the row stays for the audit trail, its role
     * assignments go, every session ends and its address is free for a new invitation.
     */
    async remove(ctx: RequestContext, id: string, version: number | undefined) {
      await changeUser(ctx, id, { revokeSessions: 'user_deleted' }, async (tx, user, tenantId) => {
        if (version !== undefined && version !== user.version) {
          throw new AppError('version-conflict', `The current version is ${user.version}.`, { current_version: user.version });
        }
        assertNotSelf(ctx, user, 'delete');
        assertOutranks(ctx, user);
        await assertNotLastOwner(tx, user);
        await deleteAssignments(tx, { userId: id });
        await markUserDeleted(tx, id);
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'user.deleted',
          resourceType: 'user',
          resourceId: id,
          metadata: { email: user.email, roles: rolesSummary(user.roles) },
        });
        return true;
      });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
