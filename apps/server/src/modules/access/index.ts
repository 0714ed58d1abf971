export { accessRoutes } from './access.routes.ts';
export { assertHoldsAll, assertNotOwnRoles, assignDefaultRole, createAccessService, effectivePermissions, holdsSensitivePermission, type AccessService } from './access.service.ts';
export { insertDefaultRoles, rolesOfUser, syncPermissionCatalog, countOtherOwners, deleteAssignments } from './access.queries.ts';
export { findDefaultRoleId, findRole, findUnit, insertAssignment, lockRole } from './access.queries.ts';
