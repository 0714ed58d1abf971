import type { UserRole } from '../db/schema.ts';

/**
 * The permissions routes may declare. The complete, versioned catalog with tenant-composed roles
 * replaces this map later; `can` is the one function every route check goes through.
 */
export const PERMISSIONS = {
  'customers.read': 'Read customers',
  'customers.write': 'Create, change and delete customers',
  'orders.read': 'Read orders',
  'orders.write': 'Create, change and delete orders',
  'audit.read': 'Read the tenant audit log',
  'platform.tenants.read': 'Read tenants',
  'platform.tenants.write': 'Create, change, suspend and reactivate tenants',
} as const;

export type Permission = keyof typeof PERMISSIONS;

/** What a route requires: a catalog permission, any signed-in user, or nobody at all. */
export type RouteAccess = Permission | 'authenticated' | 'public';

const TENANT_READ: Permission[] = ['customers.read', 'orders.read'];
const TENANT_WRITE: Permission[] = ['customers.write', 'orders.write'];

const ROLE_PERMISSIONS: Record<UserRole, ReadonlySet<Permission>> = {
  owner: new Set([...TENANT_READ, ...TENANT_WRITE, 'audit.read']),
  admin: new Set([...TENANT_READ, ...TENANT_WRITE, 'audit.read']),
  member: new Set([...TENANT_READ, ...TENANT_WRITE]),
  readonly: new Set(TENANT_READ),
  operator: new Set(['platform.tenants.read', 'platform.tenants.write']),
};

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

/** Unknown roles grant nothing. */
export function can(roles: readonly string[], permission: Permission): boolean {
  return roles.some((role) => Object.hasOwn(ROLE_PERMISSIONS, role) && ROLE_PERMISSIONS[role as UserRole].has(permission));
}
