import type { ColumnType, Generated } from 'kysely';

/**
 * The row types of the tables, as Kysely sees them, kept in step with src/migrations. This file
 * holds the kernel's tables (KERNEL_TABLES in kernel/module.ts) and the column types they share;
 * each module declares its own tables in its `<module>.tables.ts`, which adds them to `DB` by
 * declaration merging, so adding a module's table touches only that module's folder.
 */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** The regions tenants live in (data residency); staff bound to one see only its tenants. */
export type Region = 'US' | 'EU' | 'UK' | 'JP';

/** The role of platform staff; tenant users have none (their roles are role assignments). */
export type PlatformRoleColumn = 'operator' | 'support' | 'auditor';

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
  /** The platform staff member behind the actor, during impersonation (FR-RBAC-005). */
  impersonator_id: ColumnType<string | null, string | null | undefined, never>;
  impersonation_reason: ColumnType<string | null, string | null | undefined, never>;
}

/**
 * A signed statement of a chain head (FR-AUD-002): the chain had `seq` events ending in `last_hash`
 * at `signed_at`. Written and read on the owner connection only (kernel/audit/checkpoints.ts).
 */
export interface AuditCheckpointsTable {
  id: Generated<string>;
  chain_id: string;
  tenant_id: string | null;
  seq: number;
  last_hash: string;
  signed_at: ColumnType<Date, Date | string, never>;
  /** The RFC 7638 thumbprint of the public key that verifies the signature. */
  key_id: string;
  /** Ed25519 over checkpointMessage(), base64url. */
  signature: string;
}

/** Idempotency-Key records (FR-IDEM-001); tenant_id null for platform callers. */
export interface IdempotencyKeysTable {
  id: Generated<string>;
  tenant_id: string | null;
  principal: string;
  idempotency_key: string;
  request_hash: string;
  status: Generated<'in_progress' | 'completed'>;
  lease_id: string | null;
  locked_until: Date | null;
  response_status: number | null;
  response_headers: ColumnType<Record<string, string> | null, string | null, string | null>;
  response_body: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface DevMailboxTable {
  id: Generated<string>;
  tenant_id: string | null;
  /** Where the message would have gone: SMS and WhatsApp land here too until their adapters exist. */
  channel: Generated<'email' | 'sms' | 'whatsapp'>;
  recipient: string;
  subject: string;
  body: string;
  created_at: CreatedAt;
}

/**
 * A session with its principal, as the guard resolves it (migration session_principals): a view the
 * kernel reads, over the sessions, users, tenants, access, session and verification policy tables.
 * Row-level security holds through it (security_invoker).
 */
export interface SessionPrincipalsView {
  id: string;
  status: 'active' | 'revoked';
  tenant_id: string | null;
  user_id: string;
  expires_at: Date;
  last_seen_at: Date;
  impersonator_id: string | null;
  impersonation_reason: string | null;
  elevated_role: 'super_admin' | null;
  user_status: 'active' | 'disabled';
  platform_role: PlatformRoleColumn | null;
  platform_region: Region | null;
  email_verified: boolean;
  tenant_status: 'active' | 'suspended' | null;
  /** The user's role assignments: role key, its permissions, the unit (null: the whole tenant). */
  assignments: { k: string | null; p: string[]; u: string | null }[] | null;
  tenant_idle_timeout_seconds: number | null;
  phone_unverified: boolean;
}

/** Every table: the kernel's here, the modules' merged in from their `<module>.tables.ts`. */
export interface DB {
  audit_chain_heads: AuditChainHeadsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  idempotency_keys: IdempotencyKeysTable;
  dev_mailbox: DevMailboxTable;
  session_principals: SessionPrincipalsView;
}
