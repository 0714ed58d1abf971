/**
 * The permission catalog (FR-RBAC-001): platform-owned and immutable at run time. Each module
 * declares its permissions in its definition (`permissions`), the kernel those of the organization
 * settings every module has; they are reviewed like code and copied into the read-only
 * `permissions` table at every start so tenants can read them; nobody can change them through the
 * API. Changing the catalog is a code change that raises CATALOG_VERSION (test/permission-catalog.test.ts
 * pins the catalog's digest to it).
 */
import type { ModulePermission } from '../module.ts';

export const CATALOG_VERSION = 4;

export type Plane = 'tenant' | 'platform';

export type DefaultTenantRole = 'owner' | 'admin' | 'member' | 'readonly' | 'auditor';
export type PlatformRole = 'super_admin' | 'operator' | 'support' | 'auditor';

/**
 * The default tenant roles (FR-RBAC-002), created with every tenant. Their permissions come from
 * the catalog in code, not from their rows, so a permission added to the catalog reaches them on
 * deploy: the Owner holds every tenant permission, the others those that name them.
 */
export const DEFAULT_TENANT_ROLES: Record<DefaultTenantRole, { name: string; permissions: Permission[] }> = {
  owner: { name: 'Owner', permissions: [] },
  admin: { name: 'Administrator', permissions: [] },
  member: { name: 'Member', permissions: [] },
  readonly: { name: 'Read-only', permissions: [] },
  auditor: { name: 'Auditor', permissions: [] },
};

/**
 * Platform roles (FR-RBAC-002) held by platform staff: the Super Admin holds every platform
 * permission, the others those that name them. Super Admin comes only from an identity
 * provider's claim or group (or the staging allow-list), never from the API (FR-RBAC-006).
 */
export const PLATFORM_ROLES: Record<PlatformRole, { name: string; permissions: Permission[] }> = {
  super_admin: { name: 'Super Admin', permissions: [] },
  operator: { name: 'Operator', permissions: [] },
  support: { name: 'Support', permissions: [] },
  auditor: { name: 'Auditor', permissions: [] },
};

interface PermissionBase {
  description: string;
  /** Sensitive permissions need a recent second factor (step-up) once MFA is enrolled. */
  sensitive?: boolean;
  /**
   * Its routes let someone in, or keep someone in, beyond the session using them (users and
   * invitations, roles, units, API keys, single sign-on, security settings, tenants,
   * impersonation, application keys). An impersonation session never uses them (FR-RBAC-005):
   * the server refuses to start if one of their routes is declared `impersonation: 'allowed'`.
   */
  grantsAccess?: boolean;
}

/** One permission: its plane, and the default roles beyond the Owner or Super Admin that hold it. */
export type PermissionSpec =
  | (PermissionBase & { plane: 'tenant'; roles?: readonly Exclude<DefaultTenantRole, 'owner'>[] })
  | (PermissionBase & { plane: 'platform'; roles?: readonly Exclude<PlatformRole, 'super_admin'>[] });

/** The permissions a module declares in its definition, by key. */
export type PermissionTable = Readonly<Record<string, PermissionSpec>>;

/** The organization settings and exports that every module's routes use. */
const KERNEL_PERMISSIONS = {
  'config.read': { plane: 'tenant', description: 'Read the organization configuration, flags and branding', roles: ['admin', 'member', 'readonly', 'auditor'] },
  'settings.manage': { plane: 'tenant', description: 'Change the organization settings and branding', grantsAccess: true, roles: ['admin'] },
  'exports.create': { plane: 'tenant', description: 'Run exports of non-sensitive data', roles: ['admin', 'member'] },
  'exports.sensitive.create': { plane: 'tenant', description: 'Run exports that contain sensitive data', sensitive: true, roles: ['admin'] },
} as const satisfies PermissionTable;

/** Every permission, the kernel's and the modules' (`DeclaredModules`): a route that declares an unknown one does not compile. */
export type Permission = keyof typeof KERNEL_PERMISSIONS | ModulePermission;

/** The catalog as declared so far, by key, with the module that declared each. */
export const PERMISSION_CATALOG: Readonly<Record<Permission, PermissionSpec>> = {} as Record<Permission, PermissionSpec>;
const PERMISSION_OWNERS = new Map<string, string>();
const ACCESS_GRANTING = new Set<Permission>();

/** The permissions declared `grantsAccess`. */
export const ACCESS_GRANTING_PERMISSIONS: ReadonlySet<Permission> = ACCESS_GRANTING;

/** Adds a module's permissions to the catalog and to the default roles that name them; called by `defineModule`. */
export function registerPermissions(owner: string, permissions: PermissionTable): void {
  for (const [key, spec] of Object.entries(permissions) as [Permission, PermissionSpec][]) {
    const existing = PERMISSION_OWNERS.get(key);
    if (existing) throw new Error(`The permission ${key} of ${owner} is already declared by ${existing}`);
    PERMISSION_OWNERS.set(key, owner);
    (PERMISSION_CATALOG as Record<Permission, PermissionSpec>)[key] = spec;
    const holders: { permissions: Permission[] }[] =
      spec.plane === 'tenant'
        ? [DEFAULT_TENANT_ROLES.owner, ...(spec.roles ?? []).map((role) => DEFAULT_TENANT_ROLES[role])]
        : [PLATFORM_ROLES.super_admin, ...(spec.roles ?? []).map((role) => PLATFORM_ROLES[role])];
    for (const role of holders) role.permissions.push(key);
    if (spec.grantsAccess) ACCESS_GRANTING.add(key);
  }
}
registerPermissions('kernel', KERNEL_PERMISSIONS);

/** The module that declared a permission ('kernel' for the kernel's). */
export function ownerOf(permission: Permission): string {
  return PERMISSION_OWNERS.get(permission)!;
}

/** Scopes of managed-application keys (FR-SYS-002); routes for applications declare `app:<scope>`. */
export const APP_SCOPES = ['flags:read', 'billing:write', 'audit:write'] as const;
export type AppScope = (typeof APP_SCOPES)[number];

/**
 * What a route requires: a catalog permission (users), an application key scope (managed
 * applications), any signed-in user, or nobody at all.
 */
export type RouteAccess = Permission | `app:${AppScope}` | 'authenticated' | 'public';

export function isAppAccess(access: string): access is `app:${AppScope}` {
  return access.startsWith('app:') && (APP_SCOPES as readonly string[]).includes(access.slice(4));
}

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSION_CATALOG, value);
}

export function planeOf(permission: Permission): Plane {
  return PERMISSION_CATALOG[permission].plane;
}

export function isSensitive(permission: Permission): boolean {
  return PERMISSION_CATALOG[permission].sensitive === true;
}

export function isDefaultTenantRole(value: string): value is DefaultTenantRole {
  return Object.hasOwn(DEFAULT_TENANT_ROLES, value);
}

export function isPlatformRole(value: string): value is PlatformRole {
  return Object.hasOwn(PLATFORM_ROLES, value);
}

/** Where a permission holds: everywhere in the tenant, or only in the listed organization units. */
export type Reach = 'all' | ReadonlySet<string>;

/** A caller's effective permissions, resolved once per session and cached (FR-RBAC-004). */
export type Grants = ReadonlyMap<Permission, Reach>;

/** One role assignment as stored: a default role's key or a custom role's permissions, and its unit. */
export interface AssignedRole {
  roleKey: string | null;
  permissions: readonly string[];
  unitId: string | null;
}

/**
 * Folds a user's assignments into grants. Unknown permissions and permissions of the other plane
 * are ignored, never granted; a tenant-wide assignment outranks any unit assignment.
 */
export function tenantGrants(assignments: readonly AssignedRole[]): Grants {
  const grants = new Map<Permission, 'all' | Set<string>>();
  for (const assignment of assignments) {
    const permissions =
      assignment.roleKey !== null && isDefaultTenantRole(assignment.roleKey)
        ? DEFAULT_TENANT_ROLES[assignment.roleKey].permissions
        : assignment.permissions;
    for (const key of permissions) {
      if (!isPermission(key) || planeOf(key) !== 'tenant') continue;
      const current = grants.get(key);
      if (current === 'all') continue;
      if (assignment.unitId === null) grants.set(key, 'all');
      else if (current) current.add(assignment.unitId);
      else grants.set(key, new Set([assignment.unitId]));
    }
  }
  return grants;
}

export function platformGrants(roles: readonly string[]): Grants {
  const grants = new Map<Permission, Reach>();
  for (const role of roles) {
    if (!isPlatformRole(role)) continue;
    for (const permission of PLATFORM_ROLES[role].permissions) grants.set(permission, 'all');
  }
  return grants;
}

/** The one authorization check (FR-RBAC-004): where the permission reaches, or null when it does not. */
export function reachOf(grants: Grants, permission: Permission): Reach | null {
  return grants.get(permission) ?? null;
}
