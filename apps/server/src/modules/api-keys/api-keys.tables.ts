import type { Generated } from 'kysely';
import type { CreatedAt } from '../../kernel/db/schema.ts';

/** Tenant API keys for system-to-system calls; the secret is stored as its SHA-256 only. */
export interface ApiKeysTable {
  tenant_id: string;
  id: Generated<string>;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  created_by: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  replaced_by: string | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    api_keys: ApiKeysTable;
  }
}
