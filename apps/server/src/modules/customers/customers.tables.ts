import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

export interface CustomersTable {
  tenant_id: string;
  id: Generated<string>;
  unit_id: string | null;
  name: string;
  email: string | null;
  phone: string | null;
  order_count: Generated<number>;
  order_total_cents: Generated<number>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    customers: CustomersTable;
  }
}
