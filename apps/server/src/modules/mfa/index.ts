import { defineModule } from '../../kernel/module.ts';
import type { SessionOpener } from '../sessions/index.ts';
import { createMfaService } from './mfa.service.ts';
import { mfaRoutes } from './mfa.routes.ts';
export { createMfaService, proveResetSecondFactor, resetSecondFactorMethods, type MfaService } from './mfa.service.ts';
export { openLoginChallenge, type LoginChallenge } from './challenges.ts';
export { activeFactorKinds } from './mfa.queries.ts';
export { mfaRoutes } from './mfa.routes.ts';

export const mfaModule = defineModule({
  name: 'mfa',
  summary: 'Second factors: TOTP, WebAuthn, recovery codes, login challenges and step-up.',
  dependsOn: ['identity'],
  tables: ['mfa_factors', 'mfa_recovery_codes', 'mfa_challenges', 'tenant_mfa_policy'],
  create(platform, deps: { identity: SessionOpener }) {
    const service = createMfaService(platform, deps.identity, platform.secrets);
    return { service, routes: (app) => mfaRoutes(app, service) };
  },
});
