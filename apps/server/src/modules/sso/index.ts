import { defineModule } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import { createSsoService } from './sso.service.ts';
import { ssoRoutes } from './sso.routes.ts';
export { createSsoService, type SsoService } from './sso.service.ts';
export { ssoRoutes } from './sso.routes.ts';

export const ssoModule = defineModule({
  name: 'sso',
  summary: "A tenant's OpenID Connect provider, sign-in through it and account linking.",
  dependsOn: ['identity'],
  tables: ['tenant_sso_configs', 'user_identities', 'sso_logins'],
  create(platform, deps: { identity: IdentityService }) {
    const service = createSsoService(platform, deps.identity, platform.secrets);
    return { service, routes: (app) => ssoRoutes(app, service) };
  },
});
