import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { VerificationPolicy } from './verification.policy.ts';
import { createVerificationService } from './verification.service.ts';
import { verificationRoutes } from './verification.routes.ts';
export { createVerificationService, type VerificationService } from './verification.service.ts';
export { findVerificationState, markEmailVerified } from './verification.queries.ts';
export { verificationRoutes } from './verification.routes.ts';

const declared = {
  auditActions: ['verification.sent', 'verification.verified', 'verification.failed', 'verification.policy_updated', 'user.phone_changed', 'security.verification_locked', 'security.verification_send_capped'],
  problems: {
    'verification-link-invalid': [410, 'The verification link is not valid'],
    'verification-code-invalid': [400, 'The verification code is not valid'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    verification: typeof declared;
  }
}

export const verificationModule = defineModule({
  name: 'verification',
  summary: "Proof of an email address or phone number by code or link; the tenant's verification policy.",
  dependsOn: [],
  tables: ['verification_codes', 'verification_limits', 'verification_send_counts', 'tenant_verification_policy'],
  ...declared,
  policy: VerificationPolicy,
  create(platform, _deps, policy) {
    const service = createVerificationService(platform, policy);
    return { service, routes: (app) => verificationRoutes(app, service) };
  },
});
