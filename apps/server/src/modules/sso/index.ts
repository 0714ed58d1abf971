export { createSsoService, type SsoService } from './sso.service.ts';
export { ssoRoutes } from './sso.routes.ts';
