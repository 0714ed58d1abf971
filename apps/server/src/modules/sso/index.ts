import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import type { MfaService } from '../mfa/index.ts';
import { createSsoService } from './sso.service.ts';
import { ssoRoutes } from './sso.routes.ts';
export { createSsoService, type SsoService } from './sso.service.ts';
export { ssoRoutes } from './sso.routes.ts';

const declared = {
  permissions: {
    'sso.manage': { plane: 'tenant', description: "Configure the organization's single sign-on identity provider", sensitive: true, grantsAccess: true },
  },
  auditActions: ['sso.configured', 'sso.removed', 'user.provisioned', 'user.identity_linked', 'security.sso_state_invalid'],
  problems: {
    'sso-provider-invalid': [422, 'The identity provider cannot be used'],
    'sso-code-invalid': [401, 'The sign-in code is not valid'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    sso: typeof declared;
  }
}

export const ssoModule = defineModule({
  name: 'sso',
  summary: "A tenant's OpenID Connect provider, sign-in through it and account linking.",
  dependsOn: ['identity', 'mfa'],
  tables: ['tenant_sso_configs', 'user_identities', 'sso_logins'],
  ...declared,
  create(platform, deps: { identity: IdentityService; mfa: Pick<MfaService, 'stepUpMaxAgeSeconds'> }) {
    const service = createSsoService(platform, deps.identity, platform.secrets, { stepUpMaxAgeSeconds: deps.mfa.stepUpMaxAgeSeconds });
    return { service, routes: (app) => ssoRoutes(app, service) };
  },
});
