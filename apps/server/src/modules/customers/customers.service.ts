import { recordAudit } from '../../kernel/audit/audit.ts';
import type { Reach } from '../../kernel/auth/permissions.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { Platform } from '../../kernel/platform.ts';
import { findCustomerById, insertCustomer, listCustomers, updateCustomer } from './customers.queries.ts';
import type { CreateCustomerInput, ListCustomersQueryType, UpdateCustomerInput } from './customers.schemas.ts';

/**
 * Where a new customer goes when the request names no unit: nowhere for a tenant-wide caller, the
 * caller's unit when it has exactly one. The database refuses any unit beyond the caller's reach.
 */
function defaultUnit(reach: Reach): string | null {
  if (reach === 'all') return null;
  if (reach.size === 1) return [...reach][0]!;
  throw new AppError('validation', 'Choose the organization unit (unit_id) the customer belongs to.');
}

/** The sample business module: tenant-scoped CRUD with optimistic concurrency, soft delete and audit. */
export function createCustomersService(platform: Platform) {
  const { db } = platform;

  /** Explains a failed versioned write: gone (404) or changed by someone else (409). */
  async function conflictOrMissing(tx: Parameters<Parameters<typeof db.withTenant>[1]>[0], id: string): Promise<never> {
    const current = await findCustomerById(tx, id);
    if (!current || current.deleted_at) throw new AppError('not-found');
    throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
  }

  return {
    async list(ctx: RequestContext, query: ListCustomersQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withTenant(ctx, (tx) =>
        listCustomers(tx, { limit, after: decodeCursor(query.cursor), q: query.q, updatedSince: query.updated_since, includeDeleted: query.include_deleted ?? false }),
      );
      return toPage(rows, limit, withIsoDates);
    },

    async get(ctx: RequestContext, id: string) {
      const row = await db.withTenant(ctx, (tx) => findCustomerById(tx, id));
      if (!row || row.deleted_at) throw new AppError('not-found');
      return withIsoDates(row);
    },

    async create(ctx: RequestContext, input: CreateCustomerInput) {
      const scope = scopeOf(ctx);
      const { tenantId } = scope;
      const unitId = input.unit_id === undefined ? defaultUnit(scope.units) : input.unit_id;
      const row = await db.withTenant(ctx, async (tx) => {
        const created = await insertCustomer(tx, tenantId, { name: input.name, email: input.email ?? null, phone: input.phone ?? null, unit_id: unitId });
        await recordAudit(tx, ctx, { tenantId, action: 'customer.created', resourceType: 'customer', resourceId: created.id });
        return created;
      });
      return withIsoDates(row);
    },

    async update(ctx: RequestContext, id: string, input: UpdateCustomerInput) {
      const scope = scopeOf(ctx);
      const { tenantId } = scope;
      const { version, ...changes } = input;
      const row = await db.withTenant(ctx, async (tx) => {
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
      const scope = scopeOf(ctx);
      const { tenantId } = scope;
      await db.withTenant(ctx, async (tx) => {
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
