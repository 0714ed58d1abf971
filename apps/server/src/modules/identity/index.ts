export { createIdentityService, normalizeEmail, type IdentityService } from './identity.service.ts';
export { identityRoutes } from './identity.routes.ts';
export { revokeAllSessions } from './identity.queries.ts';
