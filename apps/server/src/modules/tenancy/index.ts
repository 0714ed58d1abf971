export { createTenancyService, type TenancyService } from './tenancy.service.ts';
export { tenancyRoutes } from './tenancy.routes.ts';
