import { defineModule } from '../../kernel/module.ts';
import { createImpersonationService } from './impersonation.service.ts';
import { impersonationRoutes } from './impersonation.routes.ts';
export { createImpersonationService, type ImpersonationService } from './impersonation.service.ts';
export { impersonationRoutes } from './impersonation.routes.ts';

export const impersonationModule = defineModule({
  name: 'impersonation',
  summary: "Support staff acting as a tenant's user, time-boxed, consented and audited.",
  dependsOn: [],
  tables: ['impersonations'],
  create(platform) {
    const service = createImpersonationService(platform);
    return { service, routes: (app) => impersonationRoutes(app, service) };
  },
});
