import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

export interface OrdersTable {
  tenant_id: string;
  id: Generated<string>;
  unit_id: string | null;
  customer_id: string;
  status: Generated<'open' | 'fulfilled' | 'cancelled'>;
  total_cents: number;
  currency: string;
  notes: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    orders: OrdersTable;
  }
}
