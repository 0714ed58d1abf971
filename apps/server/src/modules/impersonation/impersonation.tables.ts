import type { CreatedAt } from '../../kernel/db/schema.ts';

/** Impersonations (platform plane, FR-RBAC-005); the id is the impersonation session's. */
export interface ImpersonationsTable {
  id: string;
  impersonator_id: string;
  target_tenant_id: string;
  target_user_id: string;
  reason: string;
  ticket_id: string | null;
  created_at: CreatedAt;
  expires_at: Date;
  ended_at: Date | null;
  ended_by: string | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    impersonations: ImpersonationsTable;
  }
}
