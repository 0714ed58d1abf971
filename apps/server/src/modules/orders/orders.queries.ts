import type { Tx } from '../../kernel/db/database.ts';
import { afterCursor, updatedSince } from '../../kernel/db/query-helpers.ts';
import type { Cursor } from '../../kernel/paging.ts';

const COLUMNS = ['id', 'unit_id', 'customer_id', 'status', 'total_cents', 'currency', 'notes', 'version', 'created_at', 'updated_at', 'deleted_at'] as const;

type OrderChanges = Partial<{ status: 'open' | 'fulfilled' | 'cancelled'; total_cents: number; currency: string; notes: string | null; deleted_at: Date }>;

export function findOrderById(tx: Tx, id: string) {
  return tx.selectFrom('orders').select(COLUMNS).where('id', '=', id).executeTakeFirst();
}

export function listOrders(
  tx: Tx,
  options: { limit: number; after: Cursor | null; customerId?: string | undefined; status?: string | undefined; updatedSince?: string | undefined; includeDeleted: boolean },
) {
  let query = tx.selectFrom('orders').select(COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (!options.includeDeleted) query = query.where('deleted_at', 'is', null);
  if (options.customerId) query = query.where('customer_id', '=', options.customerId);
  if (options.status) query = query.where('status', '=', options.status as 'open');
  return updatedSince(afterCursor(query, options.after), options.updatedSince).execute();
}

export function insertOrder(
  tx: Tx,
  tenantId: string,
  values: { customer_id: string; unit_id: string | null; total_cents: number; currency: string; status: 'open' | 'fulfilled' | 'cancelled'; notes: string | null },
) {
  return tx.insertInto('orders').values({ tenant_id: tenantId, ...values }).returning(COLUMNS).executeTakeFirstOrThrow();
}

export function updateOrder(tx: Tx, id: string, version: number, changes: OrderChanges) {
  return tx
    .updateTable('orders')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id)
    .where('version', '=', version)
    .where('deleted_at', 'is', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** Count and total of a customer's live orders. */
export async function summarizeCustomerOrders(tx: Tx, customerId: string) {
  const row = await tx
    .selectFrom('orders')
    .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.coalesce(eb.fn.sum<number>('total_cents'), eb.val(0)).as('total')])
    .where('customer_id', '=', customerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), totalCents: Number(row.total) };
}
