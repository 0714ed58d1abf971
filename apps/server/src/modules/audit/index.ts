export { createAuditService, type AuditService } from './audit.service.ts';
export { auditRoutes } from './audit.routes.ts';
export {
  CHAIN_VERIFICATION_JOB,
  CHAIN_VERIFICATION_QUEUE,
  CHECKPOINT_JOB,
  CHECKPOINT_QUEUE,
  chainVerificationJob,
  checkpointJob,
  checkpointSchedule,
  verifyChainsAndReport,
} from './audit.jobs.ts';
