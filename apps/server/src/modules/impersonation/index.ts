export { createImpersonationService, IMPERSONATION_MINUTES, type ImpersonationService } from './impersonation.service.ts';
export { impersonationRoutes } from './impersonation.routes.ts';
