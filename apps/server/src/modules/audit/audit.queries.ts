import type { Tx } from '../../kernel/db/database.ts';
import { tenantIdsInRegion } from '../tenancy/index.ts';
import { SEVERITIES, type AuditFilters } from './audit.schemas.ts';

/** Where a page ends: the last event's position in the newest-first order. */
export interface AuditCursor {
  occurredAt: Date;
  chainId: string;
  seq: number;
}

/**
 * Whose events a search reads. `tenant`: the tenant in the transaction's context (RLS), ordered
 * by (occurred_at, seq), seq being unique in its chain. `platform`: the platform chain and, through
 * the platform_audit_read policy, every tenant's events, ordered by (occurred_at, chain_id, seq).
 */
export type AuditView = 'tenant' | 'platform';

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Newest first, `limit` rows after the cursor, filtered (every filter has an index led by tenant_id). */
export function searchAuditEvents(tx: Tx, view: AuditView, filters: AuditFilters, page: { limit: number; after: AuditCursor | null }) {
  let query = tx.selectFrom('audit_events').selectAll().limit(page.limit);
  query =
    view === 'tenant'
      ? query.orderBy('occurred_at', 'desc').orderBy('seq', 'desc')
      : query.orderBy('occurred_at', 'desc').orderBy('chain_id', 'desc').orderBy('seq', 'desc');
  const after = page.after;
  if (after) {
    query =
      view === 'tenant'
        ? query.where((eb) => eb(eb.refTuple('occurred_at', 'seq'), '<', eb.tuple(after.occurredAt, after.seq)))
        : query.where((eb) => eb(eb.refTuple('occurred_at', 'chain_id', 'seq'), '<', eb.tuple(after.occurredAt, after.chainId, after.seq)));
  }
  if (filters.actor_id !== undefined) query = query.where('actor_id', '=', filters.actor_id);
  if (filters.actor_type !== undefined) query = query.where('actor_type', '=', filters.actor_type);
  if (filters.action !== undefined) {
    query = filters.action.endsWith('.*')
      ? query.where('action', 'like', `${escapeLike(filters.action.slice(0, -1))}%`)
      : query.where('action', '=', filters.action);
  }
  if (filters.resource_type !== undefined) query = query.where('resource_type', '=', filters.resource_type);
  if (filters.resource_id !== undefined) query = query.where('resource_id', '=', filters.resource_id);
  if (filters.outcome !== undefined) query = query.where('outcome', '=', filters.outcome);
  if (filters.category !== undefined) query = query.where('category', '=', filters.category);
  if (filters.severity !== undefined) query = query.where('severity', 'in', SEVERITIES.slice(SEVERITIES.indexOf(filters.severity)));
  if (filters.from !== undefined) query = query.where('occurred_at', '>=', new Date(filters.from));
  if (filters.to !== undefined) query = query.where('occurred_at', '<', new Date(filters.to));
  if (filters.correlation_id !== undefined) query = query.where('correlation_id', '=', filters.correlation_id);
  if (filters.impersonator_id !== undefined) query = query.where('impersonator_id', '=', filters.impersonator_id);
  if (view === 'platform') {
    if (filters.tenant === 'platform') query = query.where('tenant_id', 'is', null);
    else if (filters.tenant !== undefined) query = query.where('tenant_id', '=', filters.tenant);
    const region = filters.region;
    if (region !== undefined) {
      query = query.where('tenant_id', 'in', tenantIdsInRegion(tx, region));
    }
  }
  return query.execute();
}

/** The ids among `ids` already in the tenant's log (the ingest API's idempotency check). */
export async function findExistingEventIds(tx: Tx, chainId: string, ids: readonly string[]): Promise<Set<string>> {
  const rows = await tx.selectFrom('audit_events').select('id').where('chain_id', '=', chainId).where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}
