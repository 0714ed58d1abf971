import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

/** A flag's value: on/off for a boolean flag, the variant's name for a variant flag (FR-FLAG-001). */
export type FlagValue = boolean | string;

/** Feature flag definitions (platform plane, FR-FLAG-001); jsonb columns are written as JSON text. */
export interface FeatureFlagsTable {
  key: string;
  kind: 'boolean' | 'variant';
  variants: ColumnType<string[], string[] | undefined, string[]>;
  default_value: ColumnType<FlagValue, string, string>;
  plan_defaults: ColumnType<Record<string, FlagValue>, string | undefined, string>;
  description: Generated<string>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** Per-tenant flag overrides (tenant rows, set by operators, FR-FLAG-001). */
export interface TenantFlagOverridesTable {
  tenant_id: string;
  flag_key: string;
  value: ColumnType<FlagValue, string, string>;
  set_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** Kill switches, global (tenant_id null) or per tenant (FR-FLAG-003). */
export interface KillSwitchesTable {
  id: Generated<string>;
  tenant_id: string | null;
  name: 'messaging' | 'ai' | 'exports' | 'sync';
  channel: 'email' | 'sms' | 'whatsapp' | 'push' | null;
  tripped: Generated<boolean>;
  reason: Generated<string>;
  tripped_by: string | null;
  tripped_at: Date | null;
  reset_by: string | null;
  reset_at: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** Tenant settings and branding tokens, one row per tenant (FR-TEN-003). */
export interface TenantSettingsTable {
  tenant_id: string;
  locale: Generated<string>;
  timezone: Generated<string>;
  logo_url: string | null;
  primary_color: string | null;
  accent_color: string | null;
  version: Generated<number>;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    feature_flags: FeatureFlagsTable;
    tenant_flag_overrides: TenantFlagOverridesTable;
    kill_switches: KillSwitchesTable;
    tenant_settings: TenantSettingsTable;
  }
}
