import { defineModule } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import { createTenancyService } from './tenancy.service.ts';
import { tenancyRoutes } from './tenancy.routes.ts';
export { createTenancyService, type TenancyService } from './tenancy.service.ts';
export { tenancyRoutes } from './tenancy.routes.ts';

export const tenancyModule = defineModule({
  name: 'tenancy',
  summary: "Tenants and their lifecycle; a new tenant's first Owner comes from identity.",
  dependsOn: ['identity'],
  tables: ['tenants'],
  create(platform, deps: { identity: IdentityService }) {
    const service = createTenancyService(platform, deps.identity);
    return { service, routes: (app) => tenancyRoutes(app, service) };
  },
});
