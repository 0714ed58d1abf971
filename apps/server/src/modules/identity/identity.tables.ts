import type { Generated } from 'kysely';
import type { CreatedAt, PlatformRoleColumn, Region, Timestamp } from '../../kernel/db/schema.ts';

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string | null;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  platform_role: PlatformRoleColumn | null;
  /** Staff bound to one region see only that region's tenants in cross-tenant views. */
  platform_region: Region | null;
  status: Generated<'active' | 'disabled' | 'deleted'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** Set when the user is deleted (soft); the address it had is kept in deleted_email. */
  deleted_at: Date | null;
  deleted_email: string | null;
  // failed_login_count, last_failed_login_at and locked_until stay for the previous release only:
  // login failures are counted in login_failures (raw SQL, modules/identity/lockout.ts).
  password_changed_at: Date | null;
  /** FR-VER-001: null until the address is verified (link, code, or an emailed invitation). */
  email_verified_at: Date | null;
  /** FR-VER-002: E.164; a new number is unverified. */
  phone: string | null;
  phone_verified_at: Date | null;
}

export interface PasswordHistoryTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  password_hash: string;
  created_at: CreatedAt;
}

export interface PasswordResetsTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  created_at: CreatedAt;
}

export interface PasswordPoliciesTable {
  tenant_id: string;
  min_length: Generated<number>;
  require_all_classes: Generated<boolean>;
  history: Generated<number>;
  /** The zxcvbn score (3..4) new passwords must reach. */
  min_strength: Generated<number>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    users: UsersTable;
    password_history: PasswordHistoryTable;
    password_resets: PasswordResetsTable;
    password_policies: PasswordPoliciesTable;
  }
}
