import { PLATFORM_CHAIN, recordAudit, recordSecurityEvent, type AuditInput } from '../../kernel/audit/audit.ts';
import { verifyAuditChains, type VerificationReport } from '../../kernel/audit/verify.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Database } from '../../kernel/db/database.ts';
import type { ScheduledJobDefinition } from '../../kernel/jobs/jobs.ts';

export const CHAIN_VERIFICATION_JOB = 'audit-chain-verification';

const VERIFIER = { type: 'system', id: CHAIN_VERIFICATION_JOB } as const;

/**
 * FR-AUD-002: recomputes every audit chain and raises a critical security event for each broken
 * one, naming the chain and its first broken event. The event goes to the platform chain (where
 * operators watch, and which must take it: the job fails and is retried otherwise) and, for a
 * tenant's chain, to that chain too, so the tenant's auditors see it in their own log.
 */
export async function verifyChainsAndReport(db: Database, ctx: RequestContext): Promise<VerificationReport> {
  // Spans every tenant: verifyAuditChains reads the chains on the owner connection.
  const report = await verifyAuditChains(db);
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
  ctx.log.info({ chains: report.chains, events: report.events, broken: report.breaks.length }, 'audit chains verified');
  return report;
}

/** Every day at 03:17 UTC (off the hour, when little else runs). */
export const chainVerificationJob: ScheduledJobDefinition = {
  name: CHAIN_VERIFICATION_JOB,
  schedule: '17 3 * * *',
  retryLimit: 3,
  async run(db, ctx) {
    await verifyChainsAndReport(db, ctx);
  },
};
