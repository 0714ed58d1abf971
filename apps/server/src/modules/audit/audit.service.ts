import type { Selectable } from 'kysely';
import { recordAudit, recordSecurityEvent } from '../../kernel/audit/audit.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import { isUuid, type Tx } from '../../kernel/db/database.ts';
import type { AuditEventsTable } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import { csvStream } from '../../kernel/csv.ts';
import type { Platform } from '../../kernel/platform.ts';
import { findTenantById } from '../tenancy/index.ts';
import { findExistingEventIds, searchAuditEvents, type AuditCursor, type AuditView } from './audit.queries.ts';
import type { AuditEventView, AuditFilters, IngestBodyType, SearchQueryType } from './audit.schemas.ts';

type AuditRow = Selectable<AuditEventsTable>;

/** Rows per transaction while a CSV export streams: memory holds one page, whatever the total. */
const EXPORT_PAGE = 1000;
/** An ingested event may not claim to come from further in the future than this (clock skew). */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Largest metadata of one ingested event, as JSON. */
const MAX_METADATA_BYTES = 8192;

const CSV_COLUMNS = [
  'id',
  'occurred_at',
  'tenant_id',
  'chain_id',
  'seq',
  'category',
  'severity',
  'actor_type',
  'actor_id',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'ip',
  'user_agent',
  'correlation_id',
  'impersonator_id',
  'impersonation_reason',
  'metadata',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRow)[];

/**
 * Staff bound to a region (CON-ARCH-007) see that region's tenants only: the region filter is
 * theirs, and asking for another region is refused.
 */
function withinResidency<Q extends AuditFilters>(ctx: RequestContext, query: Q): Q {
  const bound = ctx.actor?.platformRegion;
  if (!bound) return query;
  if (query.region !== undefined && query.region !== bound) {
    throw new AppError('forbidden', `Your access is limited to the tenants of region ${bound}.`);
  }
  return { ...query, region: bound };
}

const view = (row: AuditRow): AuditEventView => ({ ...row, occurred_at: row.occurred_at.toISOString() });

const cursorOf = (row: AuditRow): AuditCursor => ({ occurredAt: row.occurred_at, chainId: row.chain_id, seq: row.seq });

function encodeCursor(row: AuditRow): string {
  return Buffer.from(JSON.stringify([row.occurred_at.toISOString(), row.chain_id, row.seq])).toString('base64url');
}

function decodeCursor(cursor: string | undefined): AuditCursor | null {
  if (!cursor) return null;
  try {
    const [at, chainId, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && !Number.isNaN(Date.parse(at)) && isUuid(chainId) && Number.isSafeInteger(seq) && (seq as number) > 0) {
      return { occurredAt: new Date(at), chainId, seq: seq as number };
    }
  } catch {
    // falls through to the problem below
  }
  throw new AppError('validation', 'The cursor is not valid.');
}

function checkFilters(filters: AuditFilters): AuditFilters {
  if (filters.from !== undefined && filters.to !== undefined && Date.parse(filters.from) >= Date.parse(filters.to)) {
    throw new AppError('validation', '`from` must be before `to`.');
  }
  return filters;
}

/** The filters a search was given, without its paging: recorded with an export. */
function filtersOf(query: AuditFilters & { limit?: number; cursor?: string }): AuditFilters {
  const { limit: _limit, cursor: _cursor, ...filters } = query;
  return filters;
}

type Open = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/**
 * The audit module (FR-AUD-001..006, FR-LOG-001..002): search and CSV export of a tenant's log
 * and of the platform's view across tenants, and the ingest API for managed applications.
 */
export function createAuditService(platform: Platform) {
  const { db } = platform;
  const inTenant = (ctx: RequestContext): Open => (fn) => db.withTenant(ctx, fn);
  const inPlatform: Open = (fn) => db.withPlatform(fn);

  async function search(open: Open, auditView: AuditView, query: SearchQueryType) {
    const limit = query.limit ?? 50;
    const filters = checkFilters(filtersOf(query));
    const after = decodeCursor(query.cursor);
    const rows = await open((tx) => searchAuditEvents(tx, auditView, filters, { limit: limit + 1, after }));
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    return { items: items.map(view), next_cursor: more ? encodeCursor(items.at(-1)!) : null };
  }

  /**
   * FR-LOG-002: the export is audited first, in a transaction of its own, so an export never runs
   * unrecorded; then the rows stream in pages, one short transaction each.
   */
  async function exportCsv(ctx: RequestContext, open: Open, auditView: AuditView, tenantId: string | null, query: AuditFilters) {
    const filters = checkFilters(filtersOf(query));
    await open((tx) => recordAudit(tx, ctx, { tenantId, action: 'audit.exported', resourceType: 'audit_log', metadata: { format: 'csv', filters } }));
    async function* pages() {
      let after: AuditCursor | null = null;
      for (;;) {
        const rows = await open((tx) => searchAuditEvents(tx, auditView, filters, { limit: EXPORT_PAGE, after }));
        yield rows.map((row) => CSV_COLUMNS.map((column) => row[column]));
        if (rows.length < EXPORT_PAGE) return;
        after = cursorOf(rows.at(-1)!);
      }
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
    return { filename: `audit-events-${stamp}Z.csv`, stream: csvStream(CSV_COLUMNS, pages()) };
  }

  return {
    /** The caller's tenant's events (tenant admins and auditors). */
    search: (ctx: RequestContext, query: SearchQueryType) => search(inTenant(ctx), 'tenant', query),

    exportCsv: (ctx: RequestContext, query: AuditFilters) => exportCsv(ctx, inTenant(ctx), 'tenant', scopeOf(ctx).tenantId, query),

    /**
     * The platform auditor's view (CON-ARCH-007): the platform chain and every tenant's audit
     * evidence, never tenant business data; narrowed by tenant or by the tenants' region.
     */
    platformSearch: (ctx: RequestContext, query: SearchQueryType) => search(inPlatform, 'platform', withinResidency(ctx, query)),

    platformExportCsv: (ctx: RequestContext, query: AuditFilters) => exportCsv(ctx, inPlatform, 'platform', null, withinResidency(ctx, query)),

    /**
     * FR-LOG-001: a managed application appends a batch of its events to a tenant's chain, in one
     * transaction. An event whose id is already in the log is reported as a duplicate and not
     * appended again, so a batch can be retried safely.
     */
    async ingest(ctx: RequestContext, tenantId: string, body: IngestBodyType) {
      const app = ctx.app;
      if (!app) throw new AppError('unauthorized', 'This route takes an application key.');
      if (app.tenantIds !== null && !app.tenantIds.includes(tenantId)) {
        await recordSecurityEvent(db, ctx, {
          tenantId: null,
          action: 'security.cross_tenant_attempt',
          severity: 'high',
          metadata: { path_tenant: tenantId.slice(0, 64), method: 'POST', route: '/v1/tenants/:tenantId/audit-events', app_id: app.appId, key_id: app.keyId },
        });
        throw new AppError('tenant-mismatch', 'The application key may not write to this organization.');
      }
      if (!isUuid(tenantId)) throw new AppError('not-found');
      const latest = Date.now() + MAX_FUTURE_SKEW_MS;
      const errors = body.events.flatMap((event, i) => [
        ...(Date.parse(event.occurred_at) > latest ? [{ path: `body/events/${i}/occurred_at`, message: 'is in the future' }] : []),
        ...(event.metadata && Buffer.byteLength(JSON.stringify(event.metadata)) > MAX_METADATA_BYTES
          ? [{ path: `body/events/${i}/metadata`, message: `is larger than ${MAX_METADATA_BYTES} bytes as JSON` }]
          : []),
      ]);
      if (errors.length > 0) throw new AppError('validation', 'Some events are not valid; none was appended.', { errors });

      const results = await db.withWholeTenant(tenantId, async (tx) => {
        const tenant = await findTenantById(tx, tenantId);
        if (!tenant) throw new AppError('not-found');
        if (tenant.status !== 'active') throw new AppError('tenant-suspended');
        const seen = await findExistingEventIds(tx, tenantId, body.events.map((event) => event.id));
        const out: { id: string; status: 'appended' | 'duplicate' }[] = [];
        for (const event of body.events) {
          const id = event.id.toLowerCase();
          if (seen.has(id)) {
            out.push({ id, status: 'duplicate' });
            continue;
          }
          seen.add(id);
          await recordAudit(tx, ctx, {
            tenantId,
            id,
            occurredAt: new Date(event.occurred_at),
            actor: { type: event.actor.type, id: event.actor.id ?? null },
            action: event.action as `app.${string}`,
            outcome: event.outcome,
            ...(event.resource ? { resourceType: event.resource.type, resourceId: event.resource.id } : {}),
            ip: event.ip ?? null,
            userAgent: event.user_agent ?? null,
            // The sending application, as the platform knows it, whatever the event claims.
            metadata: { ...event.metadata, source: app.appId },
          });
          out.push({ id, status: 'appended' });
        }
        return out;
      });
      const appended = results.filter((r) => r.status === 'appended').length;
      return { appended, duplicates: results.length - appended, results };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
