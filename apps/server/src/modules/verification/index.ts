export { createVerificationService, issueEmailVerification, type VerificationDeps, type VerificationService } from './verification.service.ts';
export { findVerificationState, markEmailVerified } from './verification.queries.ts';
export { verificationRoutes } from './verification.routes.ts';
