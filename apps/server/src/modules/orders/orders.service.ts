import { recordAudit } from '../../kernel/audit/audit.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { JobDefinition, TenantJobData } from '../../kernel/jobs/jobs.ts';
import type { Platform } from '../../kernel/platform.ts';
import { findCustomerById, setOrderSummary } from '../customers/index.ts';
import { findOrderById, insertOrder, listOrders, summarizeCustomerOrders, updateOrder } from './orders.queries.ts';
import type { CreateOrderInput, ListOrdersQueryType, UpdateOrderInput } from './orders.schemas.ts';

export const ORDER_SUMMARY_JOB = 'customer-order-summary';

interface OrderSummaryData extends TenantJobData {
  customer_id: string;
}

/** Keeps a customer's order count and total in step with its orders; runs in the worker. */
export const orderSummaryJob: JobDefinition<OrderSummaryData> = {
  name: ORDER_SUMMARY_JOB,
  async handle(tx, data) {
    await setOrderSummary(tx, data.customer_id, await summarizeCustomerOrders(tx, data.customer_id));
  },
};

export function createOrdersService(platform: Platform) {
  const { db, jobs } = platform;
  const tenantOf = (ctx: RequestContext) => scopeOf(ctx).tenantId;

  const summarize = (tx: Tx, ctx: RequestContext, customerId: string) =>
    jobs.enqueue(tx, ORDER_SUMMARY_JOB, { tenant_id: tenantOf(ctx), correlation_id: ctx.correlationId, customer_id: customerId });

  async function conflictOrMissing(tx: Tx, id: string): Promise<never> {
    const current = await findOrderById(tx, id);
    if (!current || current.deleted_at) throw new AppError('not-found');
    throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
  }

  return {
    async list(ctx: RequestContext, query: ListOrdersQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withTenant(ctx, (tx) =>
        listOrders(tx, {
          limit,
          after: decodeCursor(query.cursor),
          customerId: query.customer_id,
          status: query.status,
          updatedSince: query.updated_since,
          includeDeleted: query.include_deleted ?? false,
        }),
      );
      return toPage(rows, limit, withIsoDates);
    },

    async get(ctx: RequestContext, id: string) {
      const row = await db.withTenant(ctx, (tx) => findOrderById(tx, id));
      if (!row || row.deleted_at) throw new AppError('not-found');
      return withIsoDates(row);
    },

    async create(ctx: RequestContext, input: CreateOrderInput) {
      const tenantId = tenantOf(ctx);
      const row = await db.withTenant(ctx, async (tx) => {
        const customer = await findCustomerById(tx, input.customer_id);
        if (!customer || customer.deleted_at) throw new AppError('validation', 'The customer does not exist.');
        const created = await insertOrder(tx, tenantId, {
          customer_id: input.customer_id,
          // An order belongs to its customer's unit.
          unit_id: customer.unit_id,
          total_cents: input.total_cents,
          currency: input.currency,
          status: input.status ?? 'open',
          notes: input.notes ?? null,
        });
        await recordAudit(tx, ctx, { tenantId, action: 'order.created', resourceType: 'order', resourceId: created.id });
        await summarize(tx, ctx, created.customer_id);
        return created;
      });
      return withIsoDates(row);
    },

    async update(ctx: RequestContext, id: string, input: UpdateOrderInput) {
      const tenantId = tenantOf(ctx);
      const { version, ...changes } = input;
      const row = await db.withTenant(ctx, async (tx) => {
        const updated = (await updateOrder(tx, id, version, changes)) ?? (await conflictOrMissing(tx, id));
        await recordAudit(tx, ctx, { tenantId, action: 'order.updated', resourceType: 'order', resourceId: id, metadata: { fields: Object.keys(changes) } });
        await summarize(tx, ctx, updated.customer_id);
        return updated;
      });
      return withIsoDates(row);
    },

    async remove(ctx: RequestContext, id: string, version: number | undefined) {
      const tenantId = tenantOf(ctx);
      await db.withTenant(ctx, async (tx) => {
        const current = await findOrderById(tx, id);
        if (!current || current.deleted_at) throw new AppError('not-found');
        const deleted = await updateOrder(tx, id, version ?? current.version, { deleted_at: new Date() });
        if (!deleted) await conflictOrMissing(tx, id);
        await recordAudit(tx, ctx, { tenantId, action: 'order.deleted', resourceType: 'order', resourceId: id });
        await summarize(tx, ctx, current.customer_id);
      });
    },
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;
