import type { Tx } from './db/database.ts';

/** What other modules may read of a user. */
export interface UserFacts {
  id: string;
  /** Null for platform staff. */
  tenant_id: string | null;
  email: string;
  status: 'active' | 'disabled' | 'deleted';
}

/**
 * User lookups for the modules the identity module builds on or that only need to know a user
 * exists (sessions, access, impersonation): the users table is identity's (CON-ARCH-005). The
 * identity module provides it; each lookup runs in the caller's transaction and sees what its plane
 * sees (a tenant context: that tenant's users; the platform plane: staff).
 */
export interface UserDirectory {
  findById(tx: Tx, id: string): Promise<UserFacts | undefined>;
}

/** The directory the platform holds: answers once the identity module has bound its own. */
export function createUserDirectoryPort(): UserDirectory & { bind(implementation: UserDirectory): void } {
  let bound: UserDirectory | null = null;
  return {
    findById: (tx, id) => {
      if (!bound) throw new Error('no module provides the user directory');
      return bound.findById(tx, id);
    },
    bind(implementation) {
      bound = implementation;
    },
  };
}
