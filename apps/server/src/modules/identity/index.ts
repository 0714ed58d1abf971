export { createIdentityService, normalizeEmail, type IdentityService } from './identity.service.ts';
export { unmetPasswordRules, type UnmetPasswordRule } from './password-policy.ts';
export { createPasswordsService, passwordPolicyIn, type PasswordsService } from './passwords.service.ts';
export { passwordsRoutes } from './passwords.routes.ts';
export { identityRoutes } from './identity.routes.ts';
export { findUserWithTenant } from './identity.queries.ts';
export { passwordResetJob } from './passwords.jobs.ts';
