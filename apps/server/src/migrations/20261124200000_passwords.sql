-- Password history, single-use reset links, the login failure counter and lockout, and the
-- tenant's password policy (FR-AUTH-002, FR-AUTH-003, FR-AUTH-004). Docs: docs/passwords-and-lockout.md.

-- Consecutive login failures: one UPDATE … RETURNING increments the counter and sets locked_until,
-- so parallel failures are counted exactly. A successful login sets it back to zero.
alter table users add column failed_login_count integer not null default 0 check (failed_login_count >= 0);
alter table users add column last_failed_login_at timestamptz(3);
alter table users add column locked_until timestamptz(3);
alter table users add column password_changed_at timestamptz(3);

-- The hashes of a user's previous passwords (the current one included), newest first; tenant users
-- carry their tenant, platform staff none. Only hashes are kept: a candidate is verified against them.
create table password_history (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  password_hash text not null,
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create index password_history_tenant_user_idx on password_history (tenant_id, user_id, created_at desc);
call tsv_isolate_table('password_history', true);
grant select, insert, delete on password_history to tsv_app, tsv_platform;

-- Reset links: the secret is stored as its SHA-256 only; used_at makes the link single-use.
create table password_resets (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  token_hash text not null check (token_hash ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz(3) not null,
  used_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create unique index password_resets_tenant_token_idx on password_resets (tenant_id, token_hash);
-- The hourly allowance per user counts recent rows.
create index password_resets_tenant_user_idx on password_resets (tenant_id, user_id, created_at);
call tsv_isolate_table('password_resets', true);
grant select, insert, update on password_resets to tsv_app, tsv_platform;

-- A tenant's tightening of the platform minimum; no row means the platform minimum. The checks
-- make a weaker policy impossible to store, whatever the code does.
create table password_policies (
  tenant_id uuid primary key references tenants (id),
  min_length integer not null default 12 check (min_length between 12 and 128),
  require_all_classes boolean not null default false,
  history integer not null default 5 check (history between 5 and 24),
  version integer not null default 1,
  updated_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('password_policies', false);
grant select, insert, update on password_policies to tsv_app;
