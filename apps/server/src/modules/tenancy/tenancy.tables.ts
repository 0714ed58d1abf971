import type { Generated } from 'kysely';
import type { CreatedAt, Region, Timestamp } from '../../kernel/db/schema.ts';

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  slug: string;
  plan: Generated<string>;
  region: Region;
  status: Generated<'active' | 'suspended'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    tenants: TenantsTable;
  }
}
