export { createIdentityService, normalizeEmail, revokeUserSessions, type IdentityService, type SessionStart, type TokenPair } from './identity.service.ts';
export { unmetPasswordRules, type UnmetPasswordRule } from './password-policy.ts';
export { createPasswordsService, passwordPolicyIn, type PasswordsService } from './passwords.service.ts';
export { passwordsRoutes } from './passwords.routes.ts';
export { identityRoutes } from './identity.routes.ts';
export { findUserWithTenant, revokeAllSessions } from './identity.queries.ts';
export { passwordResetJob } from './passwords.jobs.ts';
