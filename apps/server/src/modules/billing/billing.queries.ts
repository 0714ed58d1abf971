import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { BillingEventInputType } from './billing.schemas.ts';

/**
 * Inserts the events; an event whose (tenant, application, idempotency id) is already stored is
 * skipped. Returns the idempotency ids that were inserted.
 */
export async function insertBillingEvents(tx: Tx, tenantId: string, appId: string, events: BillingEventInputType[]): Promise<Set<string>> {
  const rows = await tx
    .insertInto('billing_events')
    .values(
      events.map((event) => ({
        tenant_id: tenantId,
        app_id: appId,
        idempotency_id: event.idempotency_id,
        type: event.type,
        quantity: event.quantity,
        occurred_at: event.occurred_at,
      })),
    )
    .onConflict((conflict) => conflict.columns(['tenant_id', 'app_id', 'idempotency_id']).doNothing())
    .returning('idempotency_id')
    .execute();
  return new Set(rows.map((row) => row.idempotency_id));
}

export interface PeriodFilter {
  from: string;
  to: string;
  appId?: string | undefined;
}

/** Events of the period in (occurred_at, id) order, after the cursor. */
export function listBillingEvents(tx: Tx, filter: PeriodFilter & { after: { occurredAt: string; id: string } | null; limit: number }) {
  let query = tx
    .selectFrom('billing_events')
    .select(['id', 'app_id', 'idempotency_id', 'type', sql<string>`quantity::text`.as('quantity'), 'occurred_at', 'received_at'])
    .where('occurred_at', '>=', new Date(filter.from))
    .where('occurred_at', '<', new Date(filter.to))
    .orderBy('occurred_at')
    .orderBy('id')
    .limit(filter.limit);
  if (filter.appId) query = query.where('app_id', '=', filter.appId);
  if (filter.after) query = query.where(sql<boolean>`(occurred_at, id) > (${filter.after.occurredAt}::timestamptz, ${filter.after.id}::uuid)`);
  return query.execute();
}

/** Count and exact sum per type over the period. */
export function totalBillingEvents(tx: Tx, filter: PeriodFilter) {
  let query = tx
    .selectFrom('billing_events')
    .select(['type', sql<number>`count(*)::int`.as('events'), sql<string>`sum(quantity)::text`.as('quantity')])
    .where('occurred_at', '>=', new Date(filter.from))
    .where('occurred_at', '<', new Date(filter.to))
    .groupBy('type')
    .orderBy('type');
  if (filter.appId) query = query.where('app_id', '=', filter.appId);
  return query.execute();
}

/**
 * Deletes up to `limit` events of the current tenant older than the retention period; the
 * restrictive policy billing_retention refuses anything younger whatever this query says.
 */
export async function deleteExpiredBillingEvents(tx: Tx, limit: number): Promise<number> {
  const result = await sql`
    delete from billing_events where (tenant_id, id) in (
      select tenant_id, id from billing_events where occurred_at < now() - interval '5 years' limit ${limit})`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}
