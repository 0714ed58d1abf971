import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt } from '../../kernel/db/schema.ts';

/** Billing events reported by managed applications (tenant rows, FR-BILL-001). */
export interface BillingEventsTable {
  tenant_id: string;
  id: Generated<string>;
  app_id: string;
  idempotency_id: string;
  type: string;
  /** numeric(24, 6): written as a number or decimal string, read back as text. */
  quantity: ColumnType<string, number | string, never>;
  occurred_at: ColumnType<Date, Date | string, never>;
  received_at: CreatedAt;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    billing_events: BillingEventsTable;
  }
}
