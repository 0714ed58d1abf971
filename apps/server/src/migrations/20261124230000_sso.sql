-- Single sign-on over OIDC (FR-AUTH-001, FR-AUTH-003, FR-AUTH-011, FR-SYS-004): a tenant's own
-- identity provider, the links between users and provider subjects, and the server-side state of
-- sign-ins in progress. Docs: docs/sso.md.

-- One identity provider per tenant. The client secret is stored sealed (AES-256-GCM under
-- SECRETS_KEY, key id in the value) and never returned. JIT users get default_role, never owner.
create table tenant_sso_configs (
  tenant_id uuid primary key references tenants (id),
  issuer text not null check (issuer ~ '^https?://' and length(issuer) <= 500),
  client_id text not null check (length(client_id) between 1 and 500),
  client_secret_sealed text not null check (client_secret_sealed like 'v1.%'),
  allowed_domains text[] not null check (cardinality(allowed_domains) between 1 and 50),
  enabled boolean not null default true,
  default_role text not null check (default_role in ('admin', 'member', 'readonly', 'auditor')),
  version integer not null default 1,
  updated_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('tenant_sso_configs', false);
grant select, insert, update, delete on tenant_sso_configs to tsv_app;

-- (provider, subject) → user. The provider is the issuer; the key includes the tenant, so a subject
-- linked in one tenant means nothing in another. Operators' links have no tenant (the platform's
-- identity provider); one index covers both with NULLS NOT DISTINCT.
create table user_identities (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  provider text not null check (length(provider) <= 500),
  subject text not null check (length(subject) between 1 and 255),
  email text check (length(email) <= 320),
  created_at timestamptz(3) not null default now(),
  last_login_at timestamptz(3),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create unique index user_identities_subject_idx on user_identities (tenant_id, provider, subject) nulls not distinct;
-- "Does this account already have an identity at this provider" (linking by email).
create index user_identities_tenant_user_idx on user_identities (tenant_id, user_id, provider);
call tsv_isolate_table('user_identities', true);
grant select, insert, update on user_identities to tsv_app, tsv_platform;

-- A sign-in in progress, from /start to the token exchange. Only hashes of the state, the browser
-- binding and the one-time code are stored; the PKCE verifier and the nonce, needed in clear at the
-- callback, are sealed. state_used_at
-- and exchanged_at make each step single-use; rows are short-lived and purged as new ones come.
create table sso_logins (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  state_hash text not null check (state_hash ~ '^[0-9a-f]{64}$'),
  browser_hash text not null check (browser_hash ~ '^[0-9a-f]{64}$'),
  secrets_sealed text not null,
  expires_at timestamptz(3) not null,
  state_used_at timestamptz(3),
  code_hash text check (code_hash ~ '^[0-9a-f]{64}$'),
  code_expires_at timestamptz(3),
  user_id uuid references users (id),
  amr text[],
  elevated_by text,
  exchanged_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create unique index sso_logins_state_idx on sso_logins (tenant_id, state_hash) nulls not distinct;
create unique index sso_logins_code_idx on sso_logins (tenant_id, code_hash) nulls not distinct where code_hash is not null;
create index sso_logins_tenant_created_idx on sso_logins (tenant_id, created_at);
call tsv_isolate_table('sso_logins', true);
grant select, insert, update, delete on sso_logins to tsv_app, tsv_platform;
