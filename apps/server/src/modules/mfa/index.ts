export { createMfaService, proveResetSecondFactor, resetSecondFactorMethods, type MfaService } from './mfa.service.ts';
export { openLoginChallenge, type LoginChallenge } from './challenges.ts';
export { activeFactorKinds } from './mfa.queries.ts';
export { mfaRoutes } from './mfa.routes.ts';
