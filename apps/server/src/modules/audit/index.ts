export { createAuditService, type AuditService } from './audit.service.ts';
export { auditRoutes } from './audit.routes.ts';
export { chainVerificationJob, verifyChainsAndReport, CHAIN_VERIFICATION_JOB } from './audit.jobs.ts';
