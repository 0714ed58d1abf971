import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

/** Managed applications (platform plane, FR-SYS-001). */
export interface ApplicationsTable {
  id: Generated<string>;
  name: string;
  environment: 'development' | 'staging' | 'production';
  owner: string;
  status: Generated<'active' | 'disabled'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  disabled_at: Date | null;
}

/** Application keys (platform plane, FR-SYS-002): the secret only as its SHA-256. */
export interface ApplicationKeysTable {
  id: Generated<string>;
  app_id: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  tenant_ids: string[] | null;
  expires_at: Date | null;
  created_at: CreatedAt;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    applications: ApplicationsTable;
    application_keys: ApplicationKeysTable;
  }
}
