import type { Generated } from 'kysely';
import type { CreatedAt } from '../../kernel/db/schema.ts';

/** Verification codes and email links (FR-VER-001, FR-VER-002), stored as SHA-256 only. */
export interface VerificationCodesTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  purpose: 'email' | 'phone';
  channel: 'email' | 'sms' | 'whatsapp';
  /** The address or number the code was sent for. */
  target: string;
  code_hash: string;
  token_hash: string | null;
  expires_at: Date;
  used_at: Date | null;
  created_at: CreatedAt;
}

/** Hourly send and verify counters and the lockout, per user and purpose. */
export interface VerificationLimitsTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  purpose: 'email' | 'phone';
  send_window_start: Generated<Date>;
  send_count: Generated<number>;
  verify_window_start: Generated<Date>;
  verify_count: Generated<number>;
  locked_until: Date | null;
}

export interface TenantVerificationPolicyTable {
  tenant_id: string;
  require_phone: Generated<boolean>;
  default_channel: Generated<'sms' | 'whatsapp' | 'email'>;
  version: Generated<number>;
  updated_by: string | null;
  updated_at: Generated<Date>;
}

/** Codes sent per destination and per tenant in a window, keyed by HMACs (raw SQL upserts). */
export interface VerificationSendCountsTable {
  key: string;
  window_start: Generated<Date>;
  sends: Generated<number>;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    verification_codes: VerificationCodesTable;
    verification_limits: VerificationLimitsTable;
    tenant_verification_policy: TenantVerificationPolicyTable;
    verification_send_counts: VerificationSendCountsTable;
  }
}
