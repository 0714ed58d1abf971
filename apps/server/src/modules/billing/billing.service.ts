import { Compile } from 'typebox/compile';
import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Database, Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { csvStream } from '../../kernel/csv.ts';
import { decodeCursor, encodeCursor } from '../../kernel/paging.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { ScheduledJobDefinition } from '../../kernel/jobs/jobs.ts';
import type { Platform } from '../../kernel/platform.ts';
import { appMayActFor } from '../apps/index.ts';
import { findTenantById, listTenantIds } from '../tenancy/index.ts';
import { deleteExpiredBillingEvents, insertBillingEvents, listBillingEvents, totalBillingEvents, type PeriodFilter } from './billing.queries.ts';
import {
  BillingEventInput,
  type BillingEventInputType,
  type CsvExportQueryType,
  type ExportQueryType,
  type IngestBodyType,
  type IngestResultType,
} from './billing.schemas.ts';

/** Billing events are kept 5 years (by occurred_at); older ones are refused at ingest and purged daily. */
const RETENTION_YEARS = 5;
/** How far ahead of the server's clock an event may be dated (clock skew of the reporting application). */
const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;
/** Rows per transaction while a CSV export streams: memory holds one page, whatever the total. */
const CSV_PAGE = 5000;
const CSV_COLUMNS = ['event_id', 'tenant_id', 'app_id', 'idempotency_id', 'type', 'quantity', 'occurred_at', 'received_at'] as const;
const RETENTION_BATCH = 10_000;

const checkEvent = Compile(BillingEventInput);

type ItemResult = IngestResultType['items'][number];

function retentionStart(now: number): Date {
  const start = new Date(now);
  start.setUTCFullYear(start.getUTCFullYear() - RETENTION_YEARS);
  return start;
}

/** The problems of one item, as `{ path, message }` like the 400 problem's errors. */
function itemErrors(item: unknown, now: number): ItemResult['errors'] {
  if (!checkEvent.Check(item)) {
    const seen = new Set<string>();
    const errors: NonNullable<ItemResult['errors']> = [];
    for (const error of checkEvent.Errors(item)) {
      // additionalProperties is reported twice (the property, then the object): keep the object's.
      if (error.keyword === 'boolean') continue;
      const entry = { path: error.instancePath || '/', message: error.message };
      const key = `${entry.path} ${entry.message}`;
      if (!seen.has(key)) errors.push(entry);
      seen.add(key);
    }
    return errors;
  }
  const occurredAt = Date.parse((item as BillingEventInputType).occurred_at);
  if (occurredAt < retentionStart(now).getTime()) return [{ path: '/occurred_at', message: `is older than the ${RETENTION_YEARS}-year retention period` }];
  if (occurredAt > now + FUTURE_TOLERANCE_MS) return [{ path: '/occurred_at', message: 'is more than a day in the future' }];
  return undefined;
}

function checkPeriod(from: string, to: string) {
  if (Date.parse(from) >= Date.parse(to)) {
    throw new AppError('validation', 'The period is empty: from must be before to.', { errors: [{ path: 'querystring/to', message: 'must be after from' }] });
  }
}

/**
 * Billing events (FR-BILL-001..003): idempotent batch ingest by managed applications, each event
 * written in its tenant's own context, and export by tenant and period for an external billing
 * system. Events are tenant rows under RLS.
 */
export function createBillingService(platform: Platform) {
  const { db } = platform;

  /**
   * CAUTION: a platform route reading one tenant's billing rows. It enters that tenant's context
   * (RLS still applies: this tenant's rows only), after proving the tenant exists, and records the
   * read in the tenant's own audit chain in the same transaction.
   */
  function inTenantForExport<T>(ctx: RequestContext, tenantId: string, metadata: Record<string, unknown>, fn: (tx: Tx) => Promise<T>) {
    return db.withWholeTenant(tenantId, async (tx) => {
      if ((await findTenantById(tx, tenantId)) === undefined) throw new AppError('not-found', 'No such tenant.');
      const result = await fn(tx);
      await recordAudit(tx, ctx, { tenantId, action: 'billing.exported', resourceType: 'tenant', resourceId: tenantId, metadata });
      return result;
    });
  }

  return {
    /**
     * FR-BILL-001/002: each item is checked alone; a repeated (tenant, application, idempotency id)
     * is a duplicate, not an error. One transaction and one audit event per tenant of the batch.
     */
    async ingest(ctx: RequestContext, body: IngestBodyType): Promise<IngestResultType> {
      const app = ctx.app;
      if (!app) throw new AppError('unauthorized');
      const now = Date.now();
      const items: ItemResult[] = [];
      const byTenant = new Map<string, { index: number; event: BillingEventInputType }[]>();
      const inBatch = new Set<string>();
      body.events.forEach((raw, index) => {
        const errors = itemErrors(raw, now);
        if (errors) return void (items[index] = { index, status: 'rejected', errors });
        const event = raw as BillingEventInputType;
        if (!appMayActFor(app, event.tenant_id)) {
          return void (items[index] = { index, status: 'rejected', errors: [{ path: '/tenant_id', message: 'is not a tenant this key may act for' }] });
        }
        const key = `${event.tenant_id}\n${event.idempotency_id}`;
        if (inBatch.has(key)) return void (items[index] = { index, status: 'duplicate' });
        inBatch.add(key);
        const group = byTenant.get(event.tenant_id) ?? [];
        group.push({ index, event });
        byTenant.set(event.tenant_id, group);
      });

      for (const [tenantId, group] of byTenant) {
        const inserted = await db.withWholeTenant(tenantId, async (tx) => {
          if ((await findTenantById(tx, tenantId)) === undefined) return null;
          const ids = await insertBillingEvents(tx, tenantId, app.appId, group.map((g) => g.event));
          if (ids.size > 0) {
            await recordAudit(tx, ctx, {
              tenantId,
              action: 'billing.events_ingested',
              resourceType: 'application',
              resourceId: app.appId,
              metadata: { app_id: app.appId, key_id: app.keyId, accepted: ids.size, duplicates: group.length - ids.size },
            });
          }
          return ids;
        });
        for (const { index, event } of group) {
          items[index] =
            inserted === null
              ? { index, status: 'rejected', errors: [{ path: '/tenant_id', message: 'names no tenant' }] }
              : { index, status: inserted.has(event.idempotency_id) ? 'accepted' : 'duplicate' };
        }
      }
      const count = (status: ItemResult['status']) => items.filter((item) => item.status === status).length;
      return { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), items };
    },

    /** FR-BILL-003: one page of a tenant's events in a period, with the period's totals per type. */
    async exportPage(ctx: RequestContext, query: ExportQueryType) {
      checkPeriod(query.from, query.to);
      const limit = query.limit ?? 500;
      const cursor = decodeCursor(query.cursor);
      const filter: PeriodFilter = { from: query.from, to: query.to, appId: query.app };
      const metadata = { format: 'json', from: query.from, to: query.to, app_id: query.app ?? null, cursor: query.cursor ?? null };
      const { rows, totals } = await inTenantForExport(ctx, query.tenant, metadata, async (tx) => ({
        rows: await listBillingEvents(tx, { ...filter, after: cursor && { occurredAt: cursor.createdAt, id: cursor.id }, limit: limit + 1 }),
        totals: await totalBillingEvents(tx, filter),
      }));
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      return {
        tenant_id: query.tenant,
        from: new Date(query.from).toISOString(),
        to: new Date(query.to).toISOString(),
        items: page.map((row) => withIsoDates(row)),
        next_cursor: more && last ? encodeCursor({ created_at: last.occurred_at, id: last.id }) : null,
        totals,
      };
    },

    /**
     * FR-BILL-003: the period as CSV, streamed a page per transaction. The export is audited (and
     * the tenant proved to exist) before the first byte leaves.
     */
    async exportCsv(ctx: RequestContext, query: CsvExportQueryType) {
      checkPeriod(query.from, query.to);
      const filter: PeriodFilter = { from: query.from, to: query.to, appId: query.app };
      await inTenantForExport(ctx, query.tenant, { format: 'csv', from: query.from, to: query.to, app_id: query.app ?? null }, async () => undefined);
      const tenantId = query.tenant;
      async function* pages() {
        let after: { occurredAt: string; id: string } | null = null;
        for (;;) {
          const rows = await db.withWholeTenant(tenantId, (tx) => listBillingEvents(tx, { ...filter, after, limit: CSV_PAGE }));
          yield rows.map((row) => [row.id, tenantId, row.app_id, row.idempotency_id, row.type, row.quantity, row.occurred_at, row.received_at]);
          const last = rows.at(-1);
          if (rows.length < CSV_PAGE || !last) return;
          after = { occurredAt: last.occurred_at.toISOString(), id: last.id };
        }
      }
      const stamp = (value: string) => new Date(value).toISOString().slice(0, 10);
      return { filename: `billing-events-${tenantId}-${stamp(query.from)}-${stamp(query.to)}.csv`, stream: csvStream(CSV_COLUMNS, pages()) };
    },
  };
}

export type BillingService = ReturnType<typeof createBillingService>;

/** Deletes every tenant's events past retention, tenant by tenant, each in its own context. */
export async function purgeExpiredBillingEvents(db: Database, ctx: RequestContext): Promise<number> {
  // The tenant list is platform-plane data; the deletes run in each tenant's context.
  const tenants = await db.withPlatform(listTenantIds);
  let deleted = 0;
  for (const { id } of tenants) {
    for (;;) {
      const removed = await db.withWholeTenant(id, (tx) => deleteExpiredBillingEvents(tx, RETENTION_BATCH));
      deleted += removed;
      if (removed < RETENTION_BATCH) break;
    }
  }
  ctx.log.info({ deleted }, 'billing events past retention deleted');
  return deleted;
}

export const BILLING_RETENTION_JOB = 'billing-retention';

/** Every day at 02:43 UTC (off the hour, when little else runs). */
export const billingRetentionJob: ScheduledJobDefinition = {
  name: BILLING_RETENTION_JOB,
  schedule: '43 2 * * *',
  retryLimit: 3,
  async run(db, ctx) {
    await purgeExpiredBillingEvents(db, ctx);
  },
};
