import type { Tx } from '../../kernel/db/database.ts';
import type { Region } from '../../kernel/db/schema.ts';
import type { Cursor } from '../../kernel/paging.ts';
import type { TenantDirectory } from '../../kernel/tenants.ts';
import { afterCursor } from '../../kernel/db/query-helpers.ts';

const COLUMNS = ['id', 'name', 'slug', 'plan', 'region', 'status', 'version', 'created_at', 'updated_at'] as const;

/** A tenant by id: in a tenant context only its own row is readable, in the platform plane any. */
export function findTenantById(tx: Tx, id: string) {
  return tx.selectFrom('tenants').select(COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** Those of `ids` that name a tenant. */
export async function existingTenantIds(tx: Tx, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  return (await tx.selectFrom('tenants').select('id').where('id', 'in', ids).execute()).map((row) => row.id);
}

/** The tenants of a region, as a subquery for a filter on tenant ids. */
export function tenantIdsInRegion(tx: Tx, region: Region) {
  return tx.selectFrom('tenants').select('id').where('region', '=', region);
}

/** The id of every tenant (platform plane): for work done tenant by tenant, each in its own context. */
export function listTenantIds(tx: Tx) {
  return tx.selectFrom('tenants').select('id').execute();
}

/** CAUTION: platform plane, before anyone is authenticated: the tenant a sign-in page names. */
export function findTenantBySlug(tx: Tx, slug: string) {
  return tx.selectFrom('tenants').select(COLUMNS).where('slug', '=', slug.toLowerCase()).executeTakeFirst();
}

export function listTenants(tx: Tx, options: { limit: number; after: Cursor | null; status?: 'active' | 'suspended' | undefined }) {
  let query = tx.selectFrom('tenants').select(COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (options.status) query = query.where('status', '=', options.status);
  return afterCursor(query, options.after).execute();
}

export function insertTenant(tx: Tx, tenant: { name: string; slug: string; plan: string; region: Region }) {
  return tx.insertInto('tenants').values(tenant).returning(COLUMNS).executeTakeFirstOrThrow();
}

/** Applies a change if the version still matches; undefined when it does not (or no such tenant). */
export function updateTenant(
  tx: Tx,
  id: string,
  version: number | null,
  changes: Partial<{ name: string; plan: string; status: 'active' | 'suspended' }>,
) {
  let query = tx
    .updateTable('tenants')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('id', '=', id);
  if (version !== null) query = query.where('version', '=', version);
  return query.returning(COLUMNS).executeTakeFirst();
}

/** The tenant directory other modules read tenants through (the kernel's port). */
export const tenantDirectory: TenantDirectory = { findById: findTenantById, findBySlug: findTenantBySlug, existing: existingTenantIds };
