import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

/** A user's second factor (NFR-SEC-003): TOTP secret or WebAuthn credential. */
export interface MfaFactorsTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  kind: 'totp' | 'webauthn';
  name: string;
  status: Generated<'pending' | 'active'>;
  secret: string | null;
  last_used_step: ColumnType<number | null, number | null | undefined, number | null>;
  credential_id: string | null;
  public_key: string | null;
  /** bigint: a string from PostgreSQL, a number from PGlite. */
  sign_count: ColumnType<string | number, number | undefined, number>;
  transports: Generated<string[]>;
  created_at: CreatedAt;
  last_used_at: Date | null;
}

/** Single-use recovery codes, as SHA-256. */
export interface MfaRecoveryCodesTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  code_hash: string;
  used_at: Date | null;
  created_at: CreatedAt;
}

/** Login challenges (ERR-AUTH-461) and WebAuthn ceremonies of signed-in users. */
export interface MfaChallengesTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  purpose: 'login' | 'registration' | 'step_up';
  token_hash: string | null;
  webauthn_challenge: string | null;
  enrollment_required: Generated<boolean>;
  reasons: Generated<string[]>;
  device: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  attempts: Generated<number>;
  expires_at: Date;
  used_at: Date | null;
  created_at: CreatedAt;
}

/** A tenant's MFA policy (no row: the defaults). */
export interface TenantMfaPolicyTable {
  tenant_id: string;
  required: 'off' | 'admins' | 'all';
  new_device: boolean;
  version: Generated<number>;
  updated_by: string | null;
  updated_at: Timestamp;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    mfa_factors: MfaFactorsTable;
    mfa_recovery_codes: MfaRecoveryCodesTable;
    mfa_challenges: MfaChallengesTable;
    tenant_mfa_policy: TenantMfaPolicyTable;
  }
}
