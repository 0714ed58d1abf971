import { loadCheckpointKeys, loadCheckpointSigner } from '../../kernel/audit/checkpoints.ts';
import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { CHAIN_VERIFICATION_QUEUE, chainVerificationJob, CHECKPOINT_QUEUE, checkpointJob } from './audit.jobs.ts';
import { auditRoutes } from './audit.routes.ts';
import { createAuditService } from './audit.service.ts';
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

const declared = {
  permissions: {
    'audit.read': { plane: 'tenant', description: 'Search the organization audit log', roles: ['admin', 'auditor'] },
    'audit.export': { plane: 'tenant', description: 'Export the organization audit log as CSV', sensitive: true, roles: ['admin', 'auditor'] },
    'platform.audit.read': { plane: 'platform', description: 'Search every audit log of the platform', roles: ['operator', 'auditor'] },
    'platform.audit.export': { plane: 'platform', description: 'Export platform and tenant audit logs as CSV', sensitive: true, roles: ['auditor'] },
  },
  auditActions: ['audit.exported', 'security.audit_chain_broken'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    audit: typeof declared;
  }
}

export const auditModule = defineModule({
  name: 'audit',
  summary: "The audit log's search, export, ingest and verification. The log's tables belong to the kernel's audit writer, which every module records through.",
  dependsOn: [],
  tables: [],
  ...declared,
  jobs: [CHAIN_VERIFICATION_QUEUE, CHECKPOINT_QUEUE],
  async create(platform) {
    const { config, log } = platform;
    const service = createAuditService(platform);
    const routes = (app: Parameters<typeof auditRoutes>[0]) => auditRoutes(app, service);
    if (!platform.worker) {
      if (config.auditCheckpointKey) log.warn('AUDIT_CHECKPOINT_KEY is set for a process that runs no worker: only the worker signs audit checkpoints, give the key to the worker processes only');
      return { service, routes };
    }
    // FR-AUD-002: the checkpoint key is the worker's alone (AUDIT_CHECKPOINT_KEY, or generated in
    // DATA_DIR outside production); the database and the API processes never hold it.
    const signer = await loadCheckpointSigner(config);
    const keys = await loadCheckpointKeys(config, signer);
    return { service, routes, jobHandlers: [chainVerificationJob(keys), checkpointJob(signer, config.auditCheckpointIntervalMinutes)] };
  },
});
