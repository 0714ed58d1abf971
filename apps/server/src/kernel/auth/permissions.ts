/**
 * The permission catalog (FR-RBAC-001): platform-owned and immutable at run time. It is defined
 * here, reviewed like code, and copied into the read-only `permissions` table at migration time so
 * tenants can read it; nobody can change it through the API. Adding a permission is a code change
 * that raises CATALOG_VERSION.
 */
export const CATALOG_VERSION = 4;

export type Plane = 'tenant' | 'platform';

interface PermissionSpec {
  description: string;
  plane: Plane;
  /** Sensitive permissions need a recent second factor (step-up) once MFA is enrolled. */
  sensitive?: boolean;
}

export const PERMISSION_CATALOG = {
  'customers.read': { plane: 'tenant', description: 'Read customers' },
  'customers.write': { plane: 'tenant', description: 'Create, change and delete customers' },
  'orders.read': { plane: 'tenant', description: 'Read orders' },
  'orders.write': { plane: 'tenant', description: 'Create, change and delete orders' },
  'users.read': { plane: 'tenant', description: 'List the users of the organization' },
  'users.invite': { plane: 'tenant', description: 'Invite users and manage invitations' },
  'users.manage': { plane: 'tenant', description: 'Change, disable, enable and delete users', sensitive: true },
  'roles.read': { plane: 'tenant', description: 'Read roles and role assignments' },
  'roles.manage': { plane: 'tenant', description: 'Create, change and delete roles and assign them', sensitive: true },
  'units.read': { plane: 'tenant', description: 'Read organization units' },
  'units.manage': { plane: 'tenant', description: 'Create, change and delete organization units' },
  'audit.read': { plane: 'tenant', description: 'Search the organization audit log' },
  'audit.export': { plane: 'tenant', description: 'Export the organization audit log as CSV', sensitive: true },
  'config.read': { plane: 'tenant', description: 'Read the organization configuration, flags and branding' },
  'settings.manage': { plane: 'tenant', description: 'Change the organization settings and branding' },
  'plan.manage': { plane: 'tenant', description: 'Change the organization plan', sensitive: true },
  'exports.create': { plane: 'tenant', description: 'Run exports of non-sensitive data' },
  'exports.sensitive.create': { plane: 'tenant', description: 'Run exports that contain sensitive data', sensitive: true },
  'api_keys.manage': { plane: 'tenant', description: 'Create, rotate and revoke API keys', sensitive: true },
  'sso.manage': { plane: 'tenant', description: "Configure the organization's single sign-on identity provider", sensitive: true },
  'platform.tenants.read': { plane: 'platform', description: 'Read tenants' },
  'platform.tenants.write': { plane: 'platform', description: 'Create, change, suspend and reactivate tenants' },
  'platform.impersonate': { plane: 'platform', description: 'Act as a tenant user for support, with a reason', sensitive: true },
  'platform.audit.read': { plane: 'platform', description: 'Search every audit log of the platform' },
  'platform.audit.export': { plane: 'platform', description: 'Export platform and tenant audit logs as CSV', sensitive: true },
  'platform.flags.read': { plane: 'platform', description: 'Read feature flags and kill switches' },
  'platform.flags.write': { plane: 'platform', description: 'Change feature flags and tenant overrides' },
  'platform.switches.write': { plane: 'platform', description: 'Trip and reset kill switches', sensitive: true },
  'platform.apps.read': { plane: 'platform', description: 'Read managed applications and their keys' },
  'platform.apps.write': { plane: 'platform', description: 'Register, disable managed applications and issue keys', sensitive: true },
  'platform.billing.read': { plane: 'platform', description: 'Export billing events' },
  'platform.health.read': { plane: 'platform', description: 'Read platform health, queue depths and error rates' },
  'platform.jobs.read': { plane: 'platform', description: 'List dead-lettered jobs: queue, tenant, error and attempts, never their payloads' },
  'platform.jobs.replay': { plane: 'platform', description: 'Replay a dead-lettered job in the tenant that enqueued it' },
} as const satisfies Record<string, PermissionSpec>;

export type Permission = keyof typeof PERMISSION_CATALOG;

/**
 * Permissions whose routes let someone in, or keep someone in, beyond the session using them:
 * users and invitations, roles and assignments, units (the reach of assignments), API keys, single
 * sign-on, the security policies among the settings, tenants, impersonation, application keys. An
 * impersonation session never uses them (FR-RBAC-005): the server refuses to start if one of their
 * routes is declared `impersonation: 'allowed'` (kernel/http/guard.ts).
 */
export const ACCESS_GRANTING_PERMISSIONS = [
  'users.invite',
  'users.manage',
  'roles.manage',
  'units.manage',
  'settings.manage',
  'api_keys.manage',
  'sso.manage',
  'platform.tenants.write',
  'platform.impersonate',
  'platform.apps.write',
] as const satisfies readonly Permission[];

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
  return (PERMISSION_CATALOG[permission] as PermissionSpec).sensitive === true;
}

const ALL = Object.keys(PERMISSION_CATALOG) as Permission[];
const TENANT_PLANE = ALL.filter((p) => planeOf(p) === 'tenant');
const PLATFORM_PLANE = ALL.filter((p) => planeOf(p) === 'platform');

/**
 * The default tenant roles (FR-RBAC-002), created with every tenant. Their permissions come from
 * this code, not from their rows, so a permission added to the catalog reaches them on deploy.
 */
export const DEFAULT_TENANT_ROLES = {
  owner: { name: 'Owner', permissions: TENANT_PLANE },
  // Who controls sign-in controls every account: the identity provider is the Owner's alone.
  admin: { name: 'Administrator', permissions: TENANT_PLANE.filter((p) => p !== 'plan.manage' && p !== 'sso.manage') },
  member: {
    name: 'Member',
    permissions: ['customers.read', 'customers.write', 'orders.read', 'orders.write', 'users.read', 'units.read', 'config.read', 'exports.create'],
  },
  readonly: { name: 'Read-only', permissions: ['customers.read', 'orders.read', 'units.read', 'config.read'] },
  auditor: { name: 'Auditor', permissions: ['audit.read', 'audit.export', 'users.read', 'roles.read', 'units.read', 'config.read'] },
} as const satisfies Record<string, { name: string; permissions: readonly Permission[] }>;

export type DefaultTenantRole = keyof typeof DEFAULT_TENANT_ROLES;

export function isDefaultTenantRole(value: string): value is DefaultTenantRole {
  return Object.hasOwn(DEFAULT_TENANT_ROLES, value);
}

/**
 * Platform roles (FR-RBAC-002) held by platform staff. Super Admin comes only from an identity
 * provider's claim or group (or the staging allow-list), never from the API (FR-RBAC-006).
 */
export const PLATFORM_ROLES = {
  super_admin: { name: 'Super Admin', permissions: PLATFORM_PLANE },
  operator: {
    name: 'Operator',
    permissions: PLATFORM_PLANE.filter((p) => p !== 'platform.impersonate' && p !== 'platform.audit.export'),
  },
  support: { name: 'Support', permissions: ['platform.tenants.read', 'platform.impersonate', 'platform.health.read'] },
  auditor: { name: 'Auditor', permissions: ['platform.tenants.read', 'platform.audit.read', 'platform.audit.export'] },
} as const satisfies Record<string, { name: string; permissions: readonly Permission[] }>;

export type PlatformRole = keyof typeof PLATFORM_ROLES;

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
