-- Second factors (NFR-SEC-003): TOTP and WebAuthn credentials, single-use recovery codes, the login
-- challenges of ERR-AUTH-461 and WebAuthn ceremonies, the tenant's MFA policy, and the time of the
-- last second factor on a session (FR-AUTH-014 step-up). Docs: docs/mfa-and-step-up.md.

-- A user's factors. Tenant users carry their tenant, platform staff none. A TOTP factor is
-- 'pending' until a first code confirms it; last_used_step refuses a code's replay.
create table mfa_factors (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  kind text not null check (kind in ('totp', 'webauthn')),
  name text not null check (length(name) between 1 and 100),
  status text not null default 'pending' check (status in ('pending', 'active')),
  -- TOTP: the base32 secret, sealed with SECRETS_KEY (kernel/crypto/secret-box.ts) and bound to the user.
  secret text,
  last_used_step integer,
  -- WebAuthn: the credential id (base64url), its COSE public key (base64url) and signature counter.
  credential_id text,
  public_key text,
  sign_count bigint not null default 0,
  transports text[] not null default '{}',
  created_at timestamptz(3) not null default now(),
  last_used_at timestamptz(3),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  check ((kind = 'totp') = (secret is not null)),
  check ((kind = 'webauthn') = (credential_id is not null and public_key is not null))
);
create index mfa_factors_tenant_user_idx on mfa_factors (tenant_id, user_id);
create unique index mfa_factors_tenant_credential_idx on mfa_factors (tenant_id, credential_id) where credential_id is not null;
call tsv_isolate_table('mfa_factors', true);
grant select, insert, update, delete on mfa_factors to tsv_app, tsv_platform;

-- Recovery codes, as SHA-256 only; a new set replaces the old one.
create table mfa_recovery_codes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  code_hash text not null check (code_hash ~ '^[0-9a-f]{64}$'),
  used_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create index mfa_recovery_codes_tenant_user_idx on mfa_recovery_codes (tenant_id, user_id);
call tsv_isolate_table('mfa_recovery_codes', true);
grant select, insert, update, delete on mfa_recovery_codes to tsv_app, tsv_platform;

-- Challenges: 'login' (the token of ERR-AUTH-461, stored as SHA-256, 5 attempts, single use) and the
-- WebAuthn ceremonies of signed-in users ('registration', 'step_up'), single use and short-lived.
create table mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  purpose text not null check (purpose in ('login', 'registration', 'step_up')),
  token_hash text check (token_hash ~ '^[0-9a-f]{64}$'),
  webauthn_challenge text,
  enrollment_required boolean not null default false,
  reasons text[] not null default '{}',
  -- The device the login named, passed on to the session once the second factor is proven.
  device jsonb,
  attempts integer not null default 0,
  expires_at timestamptz(3) not null,
  used_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  check ((purpose = 'login') = (token_hash is not null))
);
create unique index mfa_challenges_tenant_token_idx on mfa_challenges (tenant_id, token_hash) where token_hash is not null;
create index mfa_challenges_tenant_user_idx on mfa_challenges (tenant_id, user_id, purpose, created_at);
call tsv_isolate_table('mfa_challenges', true);
grant select, insert, update, delete on mfa_challenges to tsv_app, tsv_platform;

-- A tenant's MFA policy; no row means the defaults (not required, new devices challenged).
create table tenant_mfa_policy (
  tenant_id uuid primary key references tenants (id),
  required text not null default 'off' check (required in ('off', 'admins', 'all')),
  new_device boolean not null default true,
  version integer not null default 1,
  updated_by uuid,
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('tenant_mfa_policy', false);
grant select, insert, update on tenant_mfa_policy to tsv_app;

-- When the session last proved a second factor (login or step-up); refresh keeps it.
alter table sessions add column mfa_at timestamptz(3);
