import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

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
  impersonator_id: string | null;
  impersonation_reason: string | null;
  /** Super Admin for this session only (FR-RBAC-006); never stored on the user. */
  elevated_role: ColumnType<'super_admin' | null, 'super_admin' | null | undefined, never>;
  /** The device the session was opened from (tenant users); sessions/ lists and revokes by it. */
  device_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The login came from a device not seen before for this user (MFA can require a second factor). */
  new_device: Generated<boolean>;
  /** When the session last proved a second factor (login or step-up, FR-AUTH-014). */
  mfa_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** A device a tenant user signs in from (FR-AUTH-008). */
export interface DevicesTable {
  tenant_id: string;
  id: Generated<string>;
  user_id: string;
  os: string | null;
  app_version: string | null;
  ip: string | null;
  first_seen_at: CreatedAt;
  last_seen_at: Timestamp;
  revoked_at: Date | null;
}

/** A tenant's own session lifetimes, each only shorter than the environment's (FR-AUTH-008). */
export interface TenantSessionPolicyTable {
  tenant_id: string;
  idle_timeout_seconds: number | null;
  absolute_ttl_seconds: number | null;
  updated_at: Timestamp;
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
  /** A rotated token's successor, sealed under a key only the rotated token gives (reuse grace window). */
  successor_sealed: string | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    sessions: SessionsTable;
    devices: DevicesTable;
    tenant_session_policy: TenantSessionPolicyTable;
    refresh_tokens: RefreshTokensTable;
  }
}
