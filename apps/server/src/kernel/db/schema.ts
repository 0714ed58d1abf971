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

/** The role of platform staff; tenant users have none (their roles are role assignments). */
export type PlatformRoleColumn = 'operator' | 'support' | 'auditor';

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string | null;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  platform_role: PlatformRoleColumn | null;
  /** Staff bound to one region see only that region's tenants in cross-tenant views. */
  platform_region: TenantsTable['region'] | null;
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

export interface PermissionsTable {
  key: string;
  description: string;
  plane: 'tenant' | 'platform';
  sensitive: boolean;
  catalog_version: number;
}

export interface RolesTable {
  tenant_id: string;
  id: Generated<string>;
  key: string | null;
  name: string;
  description: Generated<string>;
  permissions: Generated<string[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface OrgUnitsTable {
  tenant_id: string;
  id: Generated<string>;
  parent_id: string | null;
  name: string;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface RoleAssignmentsTable {
  tenant_id: string;
  id: Generated<string>;
  user_id: string;
  role_id: string;
  unit_id: string | null;
  created_at: CreatedAt;
}

export interface CustomersTable {
  tenant_id: string;
  id: Generated<string>;
  unit_id: string | null;
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

/** Managed applications (platform plane, FR-SYS-001). */
export interface ApplicationsTable {
  id: Generated<string>;
  name: string;
  environment: 'development' | 'staging' | 'production';
  owner: string;
  status: Generated<'active' | 'disabled'>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  disabled_at: Date | null;
}

/** Application keys (platform plane, FR-SYS-002): the secret only as its SHA-256. */
export interface ApplicationKeysTable {
  id: Generated<string>;
  app_id: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  tenant_ids: string[] | null;
  expires_at: Date | null;
  created_at: CreatedAt;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

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

/** Invitations to join a tenant (FR-TENANT-001, FR-TENANT-007); the token only as its SHA-256. */
export interface InvitationsTable {
  tenant_id: string;
  id: Generated<string>;
  email: string;
  role_id: string;
  unit_id: string | null;
  token_hash: string;
  status: Generated<'pending' | 'accepted' | 'revoked' | 'expired'>;
  expires_at: Date;
  invited_by: string | null;
  sent_count: Generated<number>;
  last_sent_at: Timestamp;
  accepted_user_id: string | null;
  accepted_at: Date | null;
  revoked_at: Date | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** A tenant's invitation settings, one row per tenant (no row: the defaults). */
export interface InvitationSettingsTable {
  tenant_id: string;
  expiry_days: Generated<number>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

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

/** Tenant API keys for system-to-system calls; the secret is stored as its SHA-256 only. */
export interface ApiKeysTable {
  tenant_id: string;
  id: Generated<string>;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  created_by: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  replaced_by: string | null;
}

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

/** A tenant's own OIDC identity provider (FR-AUTH-003); the client secret is sealed. */
export interface TenantSsoConfigsTable {
  tenant_id: string;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  allowed_domains: string[];
  enabled: Generated<boolean>;
  default_role: 'admin' | 'member' | 'readonly' | 'auditor';
  /** A first sign-in may link an existing account with the same verified address (docs/sso.md). */
  link_existing_accounts: Generated<boolean>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** A user's subject at an identity provider (issuer); no tenant for operators. */
export interface UserIdentitiesTable {
  id: Generated<string>;
  tenant_id: string | null;
  user_id: string;
  provider: string;
  subject: string;
  email: string | null;
  created_at: CreatedAt;
  last_login_at: Date | null;
}

/** An SSO sign-in in progress: state, browser binding and one-time code, as hashes. */
export interface SsoLoginsTable {
  id: Generated<string>;
  tenant_id: string | null;
  state_hash: string;
  browser_hash: string;
  /** The PKCE verifier and the nonce, sealed together. */
  secrets_sealed: string;
  expires_at: Date;
  state_used_at: Date | null;
  code_hash: string | null;
  code_expires_at: Date | null;
  user_id: string | null;
  amr: string[] | null;
  elevated_by: string | null;
  exchanged_at: Date | null;
  /** Set when a signed-in user started the sign-in to link this account. */
  link_user_id: string | null;
  created_at: CreatedAt;
}

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

export interface DB {
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  permissions: PermissionsTable;
  roles: RolesTable;
  org_units: OrgUnitsTable;
  role_assignments: RoleAssignmentsTable;
  customers: CustomersTable;
  orders: OrdersTable;
  dev_mailbox: DevMailboxTable;
  idempotency_keys: IdempotencyKeysTable;
  applications: ApplicationsTable;
  application_keys: ApplicationKeysTable;
  billing_events: BillingEventsTable;
  feature_flags: FeatureFlagsTable;
  tenant_flag_overrides: TenantFlagOverridesTable;
  kill_switches: KillSwitchesTable;
  tenant_settings: TenantSettingsTable;
  devices: DevicesTable;
  tenant_session_policy: TenantSessionPolicyTable;
  invitations: InvitationsTable;
  invitation_settings: InvitationSettingsTable;
  impersonations: ImpersonationsTable;
  api_keys: ApiKeysTable;
  password_history: PasswordHistoryTable;
  password_resets: PasswordResetsTable;
  password_policies: PasswordPoliciesTable;
  mfa_factors: MfaFactorsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  tenant_mfa_policy: TenantMfaPolicyTable;
  tenant_sso_configs: TenantSsoConfigsTable;
  user_identities: UserIdentitiesTable;
  sso_logins: SsoLoginsTable;
  verification_codes: VerificationCodesTable;
  verification_limits: VerificationLimitsTable;
  tenant_verification_policy: TenantVerificationPolicyTable;
}
