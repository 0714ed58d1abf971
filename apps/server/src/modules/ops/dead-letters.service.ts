import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage, type PageQueryType } from '../../kernel/paging.ts';
import { PLATFORM_JOB_SCOPE, type DeadLetter } from '../../kernel/jobs/jobs.ts';
import type { Platform } from '../../kernel/platform.ts';

const deadLetterView = (deadLetter: DeadLetter) => ({
  id: deadLetter.id,
  queue: deadLetter.queue,
  tenant_id: deadLetter.tenantId,
  enqueued_by: deadLetter.enqueuedBy,
  error: deadLetter.error,
  attempts: deadLetter.attempts,
  created_at: deadLetter.createdAt.toISOString(),
  failed_at: deadLetter.failedAt.toISOString(),
  payload_keys: deadLetter.payloadKeys,
  replayable: deadLetter.replayable,
});

/** Jobs that failed every attempt or were refused (FR-TEN-007, NFR-OPS-001): listed and replayed by operators. */
export function createDeadLettersService(platform: Platform) {
  const { db, jobs } = platform;
  return {
    async list(_ctx: RequestContext, query: PageQueryType) {
      const limit = query.limit ?? 50;
      const rows = await jobs.deadLetters({ limit: limit + 1, after: decodeCursor(query.cursor) });
      // A dead letter is created when its job fails: pages follow that time.
      return toPage(rows.map((row) => ({ ...row, created_at: row.failedAt })), limit, deadLetterView);
    },

    /**
     * Enqueues the job again with its payload, in the tenant it belongs to (so that the database
     * records that tenant as its enqueuer), audited in the same transaction; then drops the dead letter.
     */
    async replay(ctx: RequestContext, id: string) {
      const found = await jobs.deadLetter(id);
      if (!found) throw new AppError('not-found', 'There is no such dead letter.');
      const { deadLetter } = found;
      if (!deadLetter.replayable) {
        throw new AppError('conflict', 'This job cannot be replayed: it was refused for its tenant, or names no valid tenant or queue.');
      }
      await db.withPlatform(async (tx, transaction) => {
        const metadata = { queue: deadLetter.queue, tenant_id: deadLetter.tenantId, error: deadLetter.error };
        await recordAudit(tx, ctx, { tenantId: null, action: 'job.replayed', resourceType: 'job', resourceId: id, metadata });
        if (deadLetter.tenantId !== null && deadLetter.tenantId !== PLATFORM_JOB_SCOPE) await transaction.continueInTenant(deadLetter.tenantId);
        if (!(await found.replay(tx))) throw new AppError('conflict', 'This dead letter was already replayed.');
      });
      await jobs.discardDeadLetter(id);
      return deadLetterView(deadLetter);
    },
  };
}

export type DeadLettersService = ReturnType<typeof createDeadLettersService>;
