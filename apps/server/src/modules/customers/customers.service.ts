import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/http/schemas.ts';
import { withIsoDates } from '../../kernel/http/views.ts';
import type { Platform } from '../../platform.ts';
import { findCustomerById, insertCustomer, listCustomers, updateCustomer } from './customers.queries.ts';
import type { CreateCustomerInput, ListCustomersQueryType, UpdateCustomerInput } from './customers.schemas.ts';

/** The sample business module: tenant-scoped CRUD with optimistic concurrency, soft delete and audit. */
export function createCustomersService(platform: Platform) {
  const { db } = platform;
  const tenantOf = (ctx: RequestContext) => ctx.actor!.tenantId!;

  /** Explains a failed versioned write: gone (404) or changed by someone else (409). */
  async function conflictOrMissing(tx: Parameters<Parameters<typeof db.withTenant>[1]>[0], id: string): Promise<never> {
    const current = await findCustomerById(tx, id);
    if (!current || current.deleted_at) throw new AppError('not-found');
    throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
  }

  return {
    async list(ctx: RequestContext, query: ListCustomersQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withTenant(tenantOf(ctx), (tx) =>
        listCustomers(tx, { limit, after: decodeCursor(query.cursor), q: query.q, updatedSince: query.updated_since, includeDeleted: query.include_deleted ?? false }),
      );
      return toPage(rows, limit, withIsoDates);
    },

    async get(ctx: RequestContext, id: string) {
      const row = await db.withTenant(tenantOf(ctx), (tx) => findCustomerById(tx, id));
      if (!row || row.deleted_at) throw new AppError('not-found');
      return withIsoDates(row);
    },

    async create(ctx: RequestContext, input: CreateCustomerInput) {
      const tenantId = tenantOf(ctx);
      const row = await db.withTenant(tenantId, async (tx) => {
        const created = await insertCustomer(tx, tenantId, { name: input.name, email: input.email ?? null, phone: input.phone ?? null });
        await recordAudit(tx, ctx, { tenantId, action: 'customer.created', resourceType: 'customer', resourceId: created.id });
        return created;
      });
      return withIsoDates(row);
    },

    async update(ctx: RequestContext, id: string, input: UpdateCustomerInput) {
      const tenantId = tenantOf(ctx);
      const { version, ...changes } = input;
      const row = await db.withTenant(tenantId, async (tx) => {
        const updated = (await updateCustomer(tx, id, version, changes)) ?? (await conflictOrMissing(tx, id));
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'customer.updated',
          resourceType: 'customer',
          resourceId: id,
          metadata: { fields: Object.keys(changes), version: updated.version },
        });
        return updated;
      });
      return withIsoDates(row);
    },

    /** Soft delete: the row stays for sync and audit, marked deleted. */
    async remove(ctx: RequestContext, id: string, version: number | undefined) {
      const tenantId = tenantOf(ctx);
      await db.withTenant(tenantId, async (tx) => {
        const current = await findCustomerById(tx, id);
        if (!current || current.deleted_at) throw new AppError('not-found');
        const deleted = await updateCustomer(tx, id, version ?? current.version, { deleted_at: new Date() });
        if (!deleted) await conflictOrMissing(tx, id);
        await recordAudit(tx, ctx, { tenantId, action: 'customer.deleted', resourceType: 'customer', resourceId: id });
      });
    },
  };
}

export type CustomersService = ReturnType<typeof createCustomersService>;
