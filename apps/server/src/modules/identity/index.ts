import { defineModule } from '../../kernel/module.ts';
import { IdentityPolicy } from './identity.policy.ts';
import { createIdentityService } from './identity.service.ts';
import { identityRoutes } from './identity.routes.ts';
import { passwordResetJob } from './passwords.jobs.ts';
import { passwordsRoutes } from './passwords.routes.ts';
import { createPasswordsService } from './passwords.service.ts';
export { createIdentityService, normalizeEmail, type IdentityService } from './identity.service.ts';
export { unmetPasswordRules, type UnmetPasswordRule } from './password-policy.ts';
export { createPasswordsService, passwordPolicyIn, type PasswordsService } from './passwords.service.ts';
export { passwordsRoutes } from './passwords.routes.ts';
export { identityRoutes } from './identity.routes.ts';
export { findUserWithTenant } from './identity.queries.ts';
export { passwordResetJob } from './passwords.jobs.ts';

export const identityModule = defineModule({
  name: 'identity',
  summary: 'Users and their credentials: sign-in, passwords and their policy, password reset.',
  dependsOn: [],
  tables: ['users', 'password_history', 'password_resets', 'password_policies'],
  policy: IdentityPolicy,
  jobs: [passwordResetJob],
  create(platform, _deps, policy) {
    const service = createIdentityService(platform, policy);
    const passwords = createPasswordsService(platform, platform.secrets);
    return {
      service,
      routes(app) {
        identityRoutes(app, service, () => platform.tokens.jwks());
        passwordsRoutes(app, passwords);
      },
    };
  },
});
