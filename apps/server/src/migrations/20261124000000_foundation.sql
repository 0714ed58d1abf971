-- Foundation: roles, tenants, users, sessions, audit, customers and orders.
-- Timestamps keep milliseconds, the precision clients and cursors carry.
-- Isolation rules (docs/adr/0002): every table with a tenant_id has RLS enabled and forced, with a
-- policy for the app role comparing tenant_id to the transaction-local app.tenant_id. Keys between
-- tenant tables are composite (tenant_id, id).

create extension if not exists vector;

do $$
begin
  -- The app plane role: owns nothing, cannot bypass RLS.
  if not exists (select 1 from pg_roles where rolname = 'tsv_app') then
    create role tsv_app nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
  -- The platform plane role: tenants, operators, platform audit chain.
  if not exists (select 1 from pg_roles where rolname = 'tsv_platform') then
    create role tsv_platform nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
end
$$;

grant usage on schema public to tsv_app, tsv_platform;

-- The one template for isolating a table (every migration uses it): RLS enabled and forced, the
-- app role limited to the tenant in app.tenant_id, optionally the platform role to rows without a
-- tenant. Only the owner may call it.
create procedure tsv_isolate_table(tbl regclass, platform_rows boolean) language plpgsql as $$
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  execute format($p$create policy tenant_isolation on %s to tsv_app
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, tbl);
  if platform_rows then
    execute format('create policy platform_plane on %s to tsv_platform using (tenant_id is null) with check (tenant_id is null)', tbl);
  end if;
end
$$;
revoke execute on procedure tsv_isolate_table(regclass, boolean) from public;

-- Tenants (platform plane) --------------------------------------------------------------------
create table tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
  plan text not null default 'standard',
  region text not null check (region in ('US', 'EU', 'UK', 'JP')),
  status text not null default 'active' check (status in ('active', 'suspended')),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
create index tenants_created_idx on tenants (created_at, id);

alter table tenants enable row level security;
alter table tenants force row level security;
-- A tenant's own row is readable inside its context (its status and name, at session checks).
create policy tenant_self on tenants for select to tsv_app
  using (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
create policy platform_all on tenants to tsv_platform using (true) with check (true);
grant select on tenants to tsv_app;
grant select, insert, update on tenants to tsv_platform;

-- Users: tenant users carry tenant_id; platform operators have none ---------------------------
create table users (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  email text not null check (email = lower(email) and length(email) <= 320),
  name text not null default '',
  password_hash text,
  role text not null check (role in ('owner', 'admin', 'member', 'readonly', 'operator')),
  status text not null default 'active' check (status in ('active', 'disabled')),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint users_email_per_tenant unique nulls not distinct (tenant_id, email),
  constraint users_tenant_id_key unique (tenant_id, id),
  constraint users_plane_role check ((tenant_id is null) = (role = 'operator'))
);

-- Sessions and refresh tokens -----------------------------------------------------------------
create table sessions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  user_id uuid not null references users (id),
  status text not null default 'active' check (status in ('active', 'revoked')),
  amr text[] not null default '{pwd}',
  ip text,
  user_agent text,
  created_at timestamptz(3) not null default now(),
  last_seen_at timestamptz(3) not null default now(),
  expires_at timestamptz(3) not null,
  revoked_at timestamptz(3),
  revoked_reason text,
  constraint sessions_tenant_id_key unique (tenant_id, id),
  -- The composite key keeps a tenant session on a user of the same tenant.
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create index sessions_tenant_user_idx on sessions (tenant_id, user_id, status);

create table refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid,
  session_id uuid not null references sessions (id),
  token_hash text not null unique,
  status text not null default 'active' check (status in ('active', 'rotated', 'revoked')),
  created_at timestamptz(3) not null default now(),
  expires_at timestamptz(3) not null,
  used_at timestamptz(3),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id)
);
create index refresh_tokens_tenant_session_idx on refresh_tokens (tenant_id, session_id);

-- Tables that serve both planes: the app role sees its tenant's rows, the platform role the
-- rows with no tenant (operators and their sessions).
call tsv_isolate_table('users', true);
call tsv_isolate_table('sessions', true);
call tsv_isolate_table('refresh_tokens', true);
grant select, insert, update on users, sessions, refresh_tokens to tsv_app, tsv_platform;

-- Audit: append-only, hash-chained per tenant (and one chain for the platform) ------------------
create table audit_chain_heads (
  chain_id uuid primary key,
  tenant_id uuid references tenants (id),
  seq bigint not null default 0,
  last_hash text not null default '',
  constraint audit_chain_heads_plane check (tenant_id is null or tenant_id = chain_id)
);
create index audit_chain_heads_tenant_idx on audit_chain_heads (tenant_id);

create table audit_events (
  id uuid primary key,
  tenant_id uuid references tenants (id),
  chain_id uuid not null,
  seq bigint not null,
  occurred_at timestamptz(3) not null,
  category text not null default 'audit' check (category in ('audit', 'security')),
  severity text not null default 'info' check (severity in ('info', 'low', 'medium', 'high', 'critical')),
  actor_type text not null check (actor_type in ('user', 'operator', 'system', 'anonymous', 'api_key')),
  actor_id text,
  action text not null,
  resource_type text,
  resource_id text,
  outcome text not null check (outcome in ('success', 'failure', 'denied')),
  ip text,
  user_agent text,
  correlation_id text,
  metadata jsonb not null default '{}',
  prev_hash text not null,
  hash text not null,
  constraint audit_events_chain_seq unique (chain_id, seq)
);
create index audit_events_tenant_time_idx on audit_events (tenant_id, occurred_at desc);

call tsv_isolate_table('audit_chain_heads', true);
call tsv_isolate_table('audit_events', true);
-- Writers may only append: no UPDATE or DELETE grant on events, and a trigger refuses them for
-- every role (the owner must disable it explicitly, which is itself visible in the catalog).
grant select, insert on audit_events to tsv_app, tsv_platform;
grant select, insert, update on audit_chain_heads to tsv_app, tsv_platform;

create function audit_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit events are append-only' using errcode = '42501';
end
$$;
create trigger audit_events_no_update before update or delete on audit_events
  for each row execute function audit_events_append_only();
create trigger audit_events_no_truncate before truncate on audit_events
  for each statement execute function audit_events_append_only();

-- Sample business module: customers and orders -------------------------------------------------
create table customers (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  email text,
  phone text,
  order_count integer not null default 0,
  order_total_cents bigint not null default 0,
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  deleted_at timestamptz(3),
  primary key (tenant_id, id)
);
create index customers_tenant_updated_idx on customers (tenant_id, updated_at, id);
create index customers_tenant_name_idx on customers (tenant_id, lower(name), id);

create table orders (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  customer_id uuid not null,
  status text not null default 'open' check (status in ('open', 'fulfilled', 'cancelled')),
  total_cents bigint not null check (total_cents >= 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  notes text,
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  deleted_at timestamptz(3),
  primary key (tenant_id, id),
  foreign key (tenant_id, customer_id) references customers (tenant_id, id)
);
create index orders_tenant_updated_idx on orders (tenant_id, updated_at, id);
create index orders_tenant_customer_idx on orders (tenant_id, customer_id);

call tsv_isolate_table('customers', false);
call tsv_isolate_table('orders', false);
grant select, insert, update on customers, orders to tsv_app;

-- Development mailbox: where mail goes when no SMTP server is configured ------------------------
create table dev_mailbox (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  recipient text not null,
  subject text not null,
  body text not null,
  created_at timestamptz(3) not null default now()
);
create index dev_mailbox_tenant_idx on dev_mailbox (tenant_id, created_at);
call tsv_isolate_table('dev_mailbox', true);
grant select, insert on dev_mailbox to tsv_app, tsv_platform;

-- The platform chain exists from the start; a tenant's chain is opened when it is provisioned.
insert into audit_chain_heads (chain_id, tenant_id) values ('00000000-0000-0000-0000-000000000000', null);
