import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { LockoutService } from '../lockout/index.ts';
import type { SessionsService } from '../sessions/index.ts';
import { IdentityPolicy } from './identity.policy.ts';
import { findUserById } from './identity.queries.ts';
import { createIdentityService } from './identity.service.ts';
import { identityRoutes } from './identity.routes.ts';
import { PASSWORD_RESET_QUEUE, passwordResetJob } from './passwords.jobs.ts';
import { passwordsRoutes } from './passwords.routes.ts';
import { createPasswordsService } from './passwords.service.ts';
export { createIdentityService, normalizeEmail, type IdentityService } from './identity.service.ts';
export { unmetPasswordRules, type UnmetPasswordRule } from './password-policy.ts';
export { createPasswordsService, passwordPolicyIn, type PasswordsService } from './passwords.service.ts';
export { passwordsRoutes } from './passwords.routes.ts';
export { identityRoutes } from './identity.routes.ts';
export { findUserById } from './identity.queries.ts';

const declared = {
  auditActions: ['auth.login', 'auth.logout', 'auth.refresh', 'auth.refresh_reuse', 'user.created', 'security.super_admin_granted', 'auth.password_changed', 'auth.password_reset_requested', 'auth.password_reset', 'auth.password_policy_updated', 'auth.new_device'],
  problems: {
    'invalid-credentials': [401, 'Invalid credentials'],
    'weak-password': [400, 'The password does not meet the password policy'],
    'password-reset-invalid': [410, 'The password reset link is not valid'],
    'mfa-required': [401, 'MFA required'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    identity: typeof declared;
  }
}

export const identityModule = defineModule({
  name: 'identity',
  summary: 'Users and their credentials: sign-in, passwords and their policy, password reset.',
  dependsOn: ['sessions', 'lockout'],
  tables: ['users', 'password_history', 'password_resets', 'password_policies'],
  ...declared,
  policy: IdentityPolicy,
  jobs: [PASSWORD_RESET_QUEUE],
  create(platform, deps: { sessions: SessionsService; lockout: LockoutService }, policy) {
    const service = createIdentityService(platform, policy, deps.sessions, deps.lockout);
    const passwords = createPasswordsService(platform, platform.secrets, deps.lockout, service.passwordMinimum);
    return {
      service,
      provides: { users: { findById: findUserById } },
      jobHandlers: [passwordResetJob(platform.tenants)],
      routes(app) {
        identityRoutes(app, service, () => platform.tokens.jwks());
        passwordsRoutes(app, passwords);
      },
    };
  },
});
