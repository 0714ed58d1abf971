import { defineModule } from '../../kernel/module.ts';
import { createImpersonationService } from './impersonation.service.ts';
import { impersonationRoutes } from './impersonation.routes.ts';
export { createImpersonationService, type ImpersonationService } from './impersonation.service.ts';
export { impersonationRoutes } from './impersonation.routes.ts';

/** Support staff acting as a tenant's user, time-boxed, consented and audited (FR-RBAC-005). */
export const impersonationModule = defineModule({
  name: 'impersonation',
  dependsOn: [],
  tables: ['impersonations'],
  create(platform) {
    const service = createImpersonationService(platform);
    return { service, routes: (app) => impersonationRoutes(app, service) };
  },
});
