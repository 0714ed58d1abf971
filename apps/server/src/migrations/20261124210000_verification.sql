-- Email and phone verification (FR-VER-001, FR-VER-002), the channel of messages kept in the
-- development mailbox, and the tenant's verification policy. Docs: docs/verification-and-mail.md.

-- Accounts that exist before this release count as verified: they were created by the operator,
-- the seed or an emailed invitation. New rows are unverified unless the code that inserts them
-- says otherwise. The previous release never reads these columns (blue/green safe).
alter table users add column email_verified_at timestamptz(3);
alter table users add column phone text check (phone ~ '^\+[1-9][0-9]{6,14}$');
alter table users add column phone_verified_at timestamptz(3);
alter table users add constraint users_phone_verified_needs_phone check (phone_verified_at is null or phone is not null);
update users set email_verified_at = created_at;

-- SMS and WhatsApp messages land in the development mailbox too, until their adapters exist.
alter table dev_mailbox add column channel text not null default 'email' check (channel in ('email', 'sms', 'whatsapp'));

-- One row per code sent: the 6-digit code (and, for email, the link's secret) as SHA-256 only,
-- the address or number it went to (a change of either makes it useless), single use.
create table verification_codes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  purpose text not null check (purpose in ('email', 'phone')),
  channel text not null check (channel in ('email', 'sms', 'whatsapp')),
  target text not null check (length(target) <= 320),
  code_hash text not null check (code_hash ~ '^[0-9a-f]{64}$'),
  token_hash text check (token_hash ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz(3) not null,
  used_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create unique index verification_codes_tenant_token_idx on verification_codes (tenant_id, token_hash) where token_hash is not null;
create index verification_codes_tenant_user_idx on verification_codes (tenant_id, user_id, purpose, created_at);
call tsv_isolate_table('verification_codes', true);
grant select, insert, update on verification_codes to tsv_app, tsv_platform;

-- The hourly allowances and the lockout, one row per user and purpose: every send and every
-- verify is one INSERT … ON CONFLICT DO UPDATE … RETURNING, so parallel requests are counted exactly.
create table verification_limits (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  purpose text not null check (purpose in ('email', 'phone')),
  send_window_start timestamptz(3) not null default now(),
  send_count integer not null default 0 check (send_count >= 0),
  verify_window_start timestamptz(3) not null default now(),
  verify_count integer not null default 0 check (verify_count >= 0),
  locked_until timestamptz(3),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  constraint verification_limits_user_purpose unique (user_id, purpose)
);
create index verification_limits_tenant_user_idx on verification_limits (tenant_id, user_id);
call tsv_isolate_table('verification_limits', true);
grant select, insert, update on verification_limits to tsv_app, tsv_platform;

-- A tenant's verification policy; no row: phone verification optional, codes by SMS.
create table tenant_verification_policy (
  tenant_id uuid primary key references tenants (id),
  require_phone boolean not null default false,
  default_channel text not null default 'sms' check (default_channel in ('sms', 'whatsapp', 'email')),
  version integer not null default 1,
  updated_by uuid,
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('tenant_verification_policy', false);
grant select, insert, update on tenant_verification_policy to tsv_app;
