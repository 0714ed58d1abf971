import type { Tx } from '../../kernel/db/database.ts';
import type { Cursor } from '../../kernel/paging.ts';
import { afterCursor, updatedSince } from '../../kernel/db/query-helpers.ts';

const COLUMNS = ['id', 'unit_id', 'name', 'email', 'phone', 'order_count', 'order_total_cents', 'version', 'created_at', 'updated_at', 'deleted_at'] as const;

export function findCustomerById(tx: Tx, id: string) {
  return tx.selectFrom('customers').select(COLUMNS).where('id', '=', id).executeTakeFirst();
}

export function listCustomers(
  tx: Tx,
  options: { limit: number; after: Cursor | null; q?: string | undefined; updatedSince?: string | undefined; includeDeleted: boolean },
) {
  let query = tx.selectFrom('customers').select(COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (!options.includeDeleted) query = query.where('deleted_at', 'is', null);
  if (options.q) query = query.where('name', 'ilike', `%${options.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  query = updatedSince(afterCursor(query, options.after), options.updatedSince);
  return query.execute();
}

export function insertCustomer(tx: Tx, tenantId: string, values: { name: string; email: string | null; phone: string | null; unit_id: string | null }) {
  return tx.insertInto('customers').values({ tenant_id: tenantId, ...values }).returning(COLUMNS).executeTakeFirstOrThrow();
}

/** Changes a live customer at the given version; undefined when the version or the row does not match. */
export function updateCustomer(tx: Tx, id: string, version: number, changes: Partial<{ name: string; email: string | null; phone: string | null; unit_id: string | null; deleted_at: Date }>) {
  return tx
    .updateTable('customers')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('version', '=', version)
    .where('deleted_at', 'is', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** Stores the order figures the orders module computed for a customer. */
export function setOrderSummary(tx: Tx, customerId: string, summary: { count: number; totalCents: number }) {
  return tx
    .updateTable('customers')
    .set({ order_count: summary.count, order_total_cents: summary.totalCents })
    .where('id', '=', customerId)
    .execute();
}
