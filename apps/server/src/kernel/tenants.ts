import type { Tx } from './db/database.ts';
import type { Region } from './db/schema.ts';

/** What other modules may read of a tenant. */
export interface TenantFacts {
  id: string;
  slug: string;
  plan: string;
  region: Region;
  status: 'active' | 'suspended';
}

/**
 * Tenant lookups for the modules the tenancy module itself builds on (identity, flags, apps): the
 * tenants table is tenancy's alone (CON-ARCH-005), and they cannot import it without a cycle. The
 * tenancy module provides it; each lookup runs in the caller's transaction and sees what its plane
 * sees (in a tenant context, only that tenant's row).
 */
export interface TenantDirectory {
  findById(tx: Tx, id: string): Promise<TenantFacts | undefined>;
  findBySlug(tx: Tx, slug: string): Promise<TenantFacts | undefined>;
  /** Those of `ids` that name a tenant. */
  existing(tx: Tx, ids: readonly string[]): Promise<string[]>;
}

/** The directory the platform holds: answers once the tenancy module has bound its own. */
export function createTenantDirectoryPort(): TenantDirectory & { bind(implementation: TenantDirectory): void } {
  let bound: TenantDirectory | null = null;
  const directory = () => {
    if (!bound) throw new Error('no module provides the tenant directory');
    return bound;
  };
  return {
    findById: (tx, id) => directory().findById(tx, id),
    findBySlug: (tx, slug) => directory().findBySlug(tx, slug),
    existing: (tx, ids) => directory().existing(tx, ids),
    bind(implementation) {
      bound = implementation;
    },
  };
}
