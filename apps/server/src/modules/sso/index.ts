import { defineModule } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import { createSsoService } from './sso.service.ts';
import { ssoRoutes } from './sso.routes.ts';
export { createSsoService, type SsoService } from './sso.service.ts';
export { ssoRoutes } from './sso.routes.ts';

/** A tenant's OpenID Connect provider, sign-in through it and account linking (FR-AUTH-001, FR-AUTH-003). */
export const ssoModule = defineModule({
  name: 'sso',
  dependsOn: ['identity'],
  tables: ['tenant_sso_configs', 'user_identities', 'sso_logins'],
  create(platform, deps: { identity: IdentityService }) {
    const service = createSsoService(platform, deps.identity, platform.secrets);
    return { service, routes: (app) => ssoRoutes(app, service) };
  },
});
