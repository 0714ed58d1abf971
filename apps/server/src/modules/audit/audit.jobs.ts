import { PLATFORM_CHAIN, recordAudit, recordSecurityEvent, type AuditInput } from '../../kernel/audit/audit.ts';
import { signCheckpoints, type CheckpointKeys, type CheckpointSigner } from '../../kernel/audit/checkpoints.ts';
import { verifyAuditChains, type VerificationReport } from '../../kernel/audit/verify.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Database } from '../../kernel/db/database.ts';
import type { JobQueueDefinition, ScheduledJobDefinition } from '../../kernel/jobs/jobs.ts';

export const CHAIN_VERIFICATION_JOB = 'audit-chain-verification';
export const CHECKPOINT_JOB = 'audit-checkpoints';

const VERIFIER = { type: 'system', id: CHAIN_VERIFICATION_JOB } as const;

/**
 * FR-AUD-002: recomputes every audit chain and raises a critical security event for each broken
 * one, naming the chain and its first broken event. The event goes to the platform chain (where
 * operators watch, and which must take it: the job fails and is retried otherwise) and, for a
 * tenant's chain, to that chain too, so the tenant's auditors see it in their own log.
 */
export async function verifyChainsAndReport(db: Database, ctx: RequestContext, keys: CheckpointKeys): Promise<VerificationReport> {
  // Spans every tenant: verifyAuditChains reads the chains and their checkpoints on the owner connection.
  const report = await verifyAuditChains(db, { keys });
  for (const broken of report.breaks) {
    const tenantId = broken.chainId === PLATFORM_CHAIN ? null : broken.chainId;
    const event = {
      action: 'security.audit_chain_broken',
      category: 'security',
      severity: 'critical',
      outcome: 'failure',
      actor: VERIFIER,
      resourceType: 'audit_chain',
      resourceId: broken.chainId,
      metadata: { chain_id: broken.chainId, tenant_id: tenantId, seq: broken.seq, event_id: broken.eventId, reason: broken.reason },
    } satisfies Omit<AuditInput, 'tenantId'>;
    await db.withPlatform((tx) => recordAudit(tx, ctx, { ...event, tenantId: null }));
    if (tenantId) await recordSecurityEvent(db, ctx, { ...event, tenantId });
    ctx.log.error({ chainId: broken.chainId, seq: broken.seq, eventId: broken.eventId, reason: broken.reason }, 'audit chain broken');
  }
  ctx.log.info({ chains: report.chains, events: report.events, checkpoints: report.checkpoints, broken: report.breaks.length }, 'audit chains verified');
  return report;
}

/** Every day at 03:17 UTC (off the hour, when little else runs). */
export const CHAIN_VERIFICATION_QUEUE = { name: CHAIN_VERIFICATION_JOB, schedule: '17 3 * * *', retryLimit: 3 } satisfies JobQueueDefinition;

/** The daily verification, checking the chains against the checkpoints signed with the given keys. */
export function chainVerificationJob(keys: CheckpointKeys): ScheduledJobDefinition {
  return {
    ...CHAIN_VERIFICATION_QUEUE,
    async run(db, ctx) {
      await verifyChainsAndReport(db, ctx, keys);
    },
  };
}

/** The cron expression of a run every `minutes` (a divisor of an hour or a day); hourly and longer at 7 past the hour. */
export function checkpointSchedule(minutes: number): string {
  if (minutes < 60) return `*/${minutes} * * * *`;
  const hours = minutes / 60;
  return hours === 24 ? '7 0 * * *' : hours === 1 ? '7 * * * *' : `7 */${hours} * * *`;
}

/** The checkpoint queue; its schedule follows AUDIT_CHECKPOINT_INTERVAL_MINUTES (checkpointJob). */
export const CHECKPOINT_QUEUE = { name: CHECKPOINT_JOB, schedule: checkpointSchedule(60), retryLimit: 3 } satisfies JobQueueDefinition;

/**
 * FR-AUD-002: signs the chain heads that moved since their last checkpoint, every
 * AUDIT_CHECKPOINT_INTERVAL_MINUTES (hourly by default). Events appended after a chain's last
 * checkpoint can still be cut unnoticed until the next one: the interval bounds that window. A
 * retried run signs nothing twice.
 */
export function checkpointJob(signer: CheckpointSigner, intervalMinutes: number): ScheduledJobDefinition {
  return {
    ...CHECKPOINT_QUEUE,
    schedule: checkpointSchedule(intervalMinutes),
    async run(db, ctx) {
      const signed = await signCheckpoints(db, signer, ctx.log);
      ctx.log.info({ checkpoints: signed.length, key_id: signer.keyId }, 'audit chain heads signed');
    },
  };
}
