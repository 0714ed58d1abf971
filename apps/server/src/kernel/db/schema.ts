import type { ColumnType, Generated } from 'kysely';

/** Row types of the tables, as Kysely sees them. Kept in step with src/migrations. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  slug: string;
  plan: Generated<string>;
  region: 'US' | 'EU' | 'UK' | 'JP';
  status: Generated<'active' | 'suspended'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type UserRole = 'owner' | 'admin' | 'member' | 'readonly' | 'operator';

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string | null;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  role: UserRole;
  status: Generated<'active' | 'disabled'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  status: Generated<'active' | 'revoked'>;
  amr: Generated<string[]>;
  ip: string | null;
  user_agent: string | null;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  tenant_id: string | null;
  session_id: string;
  token_hash: string;
  status: Generated<'active' | 'rotated' | 'revoked'>;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
}

export interface AuditChainHeadsTable {
  chain_id: string;
  tenant_id: string | null;
  seq: Generated<number>;
  last_hash: Generated<string>;
}

export interface AuditEventsTable {
  id: string;
  tenant_id: string | null;
  chain_id: string;
  seq: number;
  occurred_at: Date;
  category: 'audit' | 'security';
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  actor_type: 'user' | 'operator' | 'system' | 'anonymous' | 'api_key';
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: 'success' | 'failure' | 'denied';
  ip: string | null;
  user_agent: string | null;
  correlation_id: string | null;
  metadata: ColumnType<Record<string, unknown>, string, string>;
  prev_hash: string;
  hash: string;
}

export interface CustomersTable {
  tenant_id: string;
  id: Generated<string>;
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

export interface OrdersTable {
  tenant_id: string;
  id: Generated<string>;
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

export interface DevMailboxTable {
  id: Generated<string>;
  tenant_id: string | null;
  recipient: string;
  subject: string;
  body: string;
  created_at: CreatedAt;
}

export interface DB {
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_events: AuditEventsTable;
  customers: CustomersTable;
  orders: OrdersTable;
  dev_mailbox: DevMailboxTable;
}
