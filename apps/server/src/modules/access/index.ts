import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { syncPermissionCatalog } from './access.queries.ts';
import { accessRoutes } from './access.routes.ts';
import { createAccessService } from './access.service.ts';
export { accessRoutes } from './access.routes.ts';
export { assertHoldsAll, assertNotOwnRoles, assignDefaultRole, createAccessService, effectivePermissions, holdsSensitivePermission, type AccessService } from './access.service.ts';
export { insertDefaultRoles, rolesOfUser, countOtherOwners, deleteAssignments } from './access.queries.ts';
export { findDefaultRoleId, findRole, findUnit, insertAssignment, lockRole } from './access.queries.ts';

const declared = {
  permissions: {
    'roles.read': { plane: 'tenant', description: 'Read roles and role assignments', roles: ['admin', 'auditor'] },
    'roles.manage': { plane: 'tenant', description: 'Create, change and delete roles and assign them', sensitive: true, grantsAccess: true, roles: ['admin'] },
    'units.read': { plane: 'tenant', description: 'Read organization units', roles: ['admin', 'member', 'readonly', 'auditor'] },
    'units.manage': { plane: 'tenant', description: 'Create, change and delete organization units', grantsAccess: true, roles: ['admin'] },
  },
  auditActions: ['role.created', 'role.updated', 'role.deleted', 'role.assigned', 'role.unassigned', 'unit.created', 'unit.updated', 'unit.deleted'],
  problems: {
    'default-role': [409, 'Default roles cannot be changed'],
    'last-owner': [409, 'The last Owner must stay'],
    'own-role-change': [403, 'You cannot change your own roles'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    access: typeof declared;
  }
}

export const accessModule = defineModule({
  name: 'access',
  summary: 'Permission catalog, roles, units and assignments; authorization decisions.',
  dependsOn: [],
  tables: ['permissions', 'roles', 'org_units', 'role_assignments'],
  ...declared,
  // The catalog's source is the code (kernel/auth/permissions.ts); the table follows it.
  prepare: syncPermissionCatalog,
  create(platform) {
    const service = createAccessService(platform);
    return { service, routes: (app) => accessRoutes(app, service) };
  },
});
