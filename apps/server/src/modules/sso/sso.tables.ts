import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

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

declare module '../../kernel/db/schema.ts' {
  interface DB {
    tenant_sso_configs: TenantSsoConfigsTable;
    user_identities: UserIdentitiesTable;
    sso_logins: SsoLoginsTable;
  }
}
