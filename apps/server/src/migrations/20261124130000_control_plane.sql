-- Control plane: managed applications and their keys (platform plane), and the billing events
-- they report (tenant rows) (FR-SYS-001..003, FR-BILL-001..003, CON-ARCH-007).
-- Docs: docs/managed-applications.md.

-- Applications and keys belong to the platform plane: only tsv_platform reads and writes them,
-- the app role has no grant at all. Keys are found by their public prefix; the secret is stored
-- as its SHA-256 (a 256-bit random secret cannot be guessed from it, see modules/apps/app-keys.ts).
create table applications (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  environment text not null check (environment in ('development', 'staging', 'production')),
  owner text not null check (owner = lower(owner) and length(owner) between 3 and 320),
  status text not null default 'active' check (status in ('active', 'disabled')),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  disabled_at timestamptz(3)
);
create index applications_created_idx on applications (created_at, id);

create table application_keys (
  id uuid primary key default gen_random_uuid(),
  app_id uuid not null references applications (id),
  prefix text not null unique check (prefix ~ '^[a-z0-9]{12}$'),
  secret_hash text not null check (secret_hash ~ '^[0-9a-f]{64}$'),
  scopes text[] not null check (cardinality(scopes) > 0 and scopes <@ array['flags:read', 'billing:write', 'audit:write']),
  -- The tenants the key may act for; null for every tenant.
  tenant_ids uuid[] check (tenant_ids is null or cardinality(tenant_ids) > 0),
  expires_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  revoked_at timestamptz(3),
  last_used_at timestamptz(3)
);
create index application_keys_app_idx on application_keys (app_id, created_at, id);

alter table applications enable row level security;
alter table applications force row level security;
create policy platform_all on applications to tsv_platform using (true) with check (true);
alter table application_keys enable row level security;
alter table application_keys force row level security;
create policy platform_all on application_keys to tsv_platform using (true) with check (true);
grant select, insert, update on applications, application_keys to tsv_platform;

-- Billing events: tenant rows under RLS. Ingest writes them in each tenant's own context; the
-- (tenant, application, idempotency id) key makes a repeated event a no-op reported as duplicate.
create table billing_events (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  app_id uuid not null references applications (id),
  idempotency_id text not null check (length(idempotency_id) between 1 and 200),
  type text not null check (type ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
  quantity numeric(24, 6) not null check (quantity >= 0),
  occurred_at timestamptz(3) not null,
  received_at timestamptz(3) not null default now(),
  primary key (tenant_id, id),
  constraint billing_events_idempotent unique (tenant_id, app_id, idempotency_id)
);
-- Export reads one tenant's period in (occurred_at, id) order.
create index billing_events_tenant_time_idx on billing_events (tenant_id, occurred_at, id);
call tsv_isolate_table('billing_events', false);
grant select, insert on billing_events to tsv_app;

-- Retention (5 years): the daily job deletes in each tenant's context, and this restrictive policy
-- lets the app role delete nothing younger, whatever the code asks.
grant delete on billing_events to tsv_app;
create policy billing_retention on billing_events as restrictive for delete to tsv_app
  using (occurred_at < now() - interval '5 years');
