import { defineModule } from '../../kernel/module.ts';
import { syncPermissionCatalog } from './access.queries.ts';
import { accessRoutes } from './access.routes.ts';
import { createAccessService } from './access.service.ts';
export { accessRoutes } from './access.routes.ts';
export { assertHoldsAll, assertNotOwnRoles, assignDefaultRole, createAccessService, effectivePermissions, holdsSensitivePermission, type AccessService } from './access.service.ts';
export { insertDefaultRoles, rolesOfUser, countOtherOwners, deleteAssignments } from './access.queries.ts';
export { findDefaultRoleId, findRole, findUnit, insertAssignment, lockRole } from './access.queries.ts';

export const accessModule = defineModule({
  name: 'access',
  summary: 'Permission catalog, roles, units and assignments; authorization decisions.',
  dependsOn: [],
  tables: ['permissions', 'roles', 'org_units', 'role_assignments'],
  // The catalog's source is the code (kernel/auth/permissions.ts); the table follows it.
  prepare: syncPermissionCatalog,
  create(platform) {
    const service = createAccessService(platform);
    return { service, routes: (app) => accessRoutes(app, service) };
  },
});
