import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { LockoutService } from '../lockout/index.ts';
import type { SessionOpener } from '../sessions/index.ts';
import { MfaPolicy } from './mfa.policy.ts';
import { createMfaService } from './mfa.service.ts';
import { mfaRoutes } from './mfa.routes.ts';
export { createMfaService, proveResetSecondFactor, resetSecondFactorMethods, type MfaService } from './mfa.service.ts';
export { openLoginChallenge, type LoginChallenge } from './challenges.ts';
export { activeFactorKinds } from './mfa.queries.ts';
export { mfaRoutes } from './mfa.routes.ts';

const declared = {
  auditActions: ['auth.mfa_challenge', 'auth.mfa_verify', 'auth.step_up', 'mfa.factor_enrolled', 'mfa.factor_activated', 'mfa.factor_removed', 'mfa.recovery_codes_generated', 'mfa_policy.updated', 'security.recovery_code_used', 'security.mfa_brute_force', 'security.mfa_challenge_reuse'],
  problems: {
    'mfa-code-invalid': [403, 'The code is not valid'],
    'mfa-challenge-invalid': [401, 'The sign-in challenge is not valid'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    mfa: typeof declared;
  }
}

export const mfaModule = defineModule({
  name: 'mfa',
  summary: 'Second factors: TOTP, WebAuthn, recovery codes, login challenges and step-up.',
  dependsOn: ['identity', 'lockout'],
  tables: ['mfa_factors', 'mfa_recovery_codes', 'mfa_challenges', 'tenant_mfa_policy'],
  ...declared,
  policy: MfaPolicy,
  create(platform, deps: { identity: SessionOpener; lockout: LockoutService }, policy) {
    const service = createMfaService(platform, deps, platform.secrets, policy);
    return { service, routes: (app) => mfaRoutes(app, service) };
  },
});
