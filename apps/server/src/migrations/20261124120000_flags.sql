-- Feature flags, tenant overrides, kill switches and tenant settings with branding
-- (FR-FLAG-001..003, FR-TEN-003). Docs: docs/flags-and-kill-switches.md.
--
-- Every change to these tables is announced on the NOTIFY channel tsv_flags in the transaction
-- that makes it, so that every node drops its cached copy (modules/flags/flag-cache.ts).

-- Flag definitions: platform plane, no tenant data. Only the platform role reads and writes them;
-- tenants see their effective values, computed by the server.
create table feature_flags (
  key text primary key check (length(key) <= 64 and key ~ '^[a-z][a-z0-9]*([._-][a-z0-9]+)*$'),
  kind text not null check (kind in ('boolean', 'variant')),
  -- The allowed values of a variant flag; none for a boolean flag.
  variants text[] not null default '{}',
  default_value jsonb not null,
  -- Plan key -> value, between the tenant override and the platform default.
  plan_defaults jsonb not null default '{}' check (jsonb_typeof(plan_defaults) = 'object'),
  description text not null default '' check (length(description) <= 500),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint feature_flags_variants check ((kind = 'boolean') = (cardinality(variants) = 0))
);
grant select, insert, update, delete on feature_flags to tsv_platform;

-- Per-tenant overrides: operators set them for any tenant (platform plane); a tenant reads its own.
create table tenant_flag_overrides (
  tenant_id uuid not null references tenants (id),
  flag_key text not null references feature_flags (key),
  value jsonb not null,
  set_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  primary key (tenant_id, flag_key)
);
-- The operators' list of one flag's overrides.
create index tenant_flag_overrides_flag_idx on tenant_flag_overrides (flag_key, tenant_id);
call tsv_isolate_table('tenant_flag_overrides', false);
create policy platform_all on tenant_flag_overrides to tsv_platform using (true) with check (true);
grant select on tenant_flag_overrides to tsv_app;
grant select, insert, update, delete on tenant_flag_overrides to tsv_platform;

-- Kill switches: global (tenant_id null) or per tenant, and per channel for messaging. A row stays
-- when the switch is reset (tripped = false); the audit log keeps the history.
create table kill_switches (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  name text not null check (name in ('messaging', 'ai', 'exports', 'sync')),
  channel text check (channel in ('email', 'sms', 'whatsapp', 'push')),
  tripped boolean not null default false,
  reason text not null default '' check (length(reason) <= 500),
  tripped_by uuid,
  tripped_at timestamptz(3),
  reset_by uuid,
  reset_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint kill_switches_channel check (channel is null or name = 'messaging'),
  constraint kill_switches_scope unique nulls not distinct (tenant_id, name, channel)
);
-- Every node loads the tripped switches (few rows) into its cache.
create index kill_switches_tripped_idx on kill_switches (tenant_id, name) where tripped;
call tsv_isolate_table('kill_switches', false);
create policy platform_all on kill_switches to tsv_platform using (true) with check (true);
grant select on kill_switches to tsv_app;
grant select, insert, update on kill_switches to tsv_platform;

-- Tenant settings and branding tokens: one row per tenant, written by the tenant itself.
create table tenant_settings (
  tenant_id uuid primary key references tenants (id),
  locale text not null default 'en' check (length(locale) <= 35),
  timezone text not null default 'UTC' check (length(timezone) <= 64),
  logo_url text check (logo_url is null or (length(logo_url) <= 2048 and logo_url ~ '^https://')),
  primary_color text check (primary_color is null or primary_color ~ '^#[0-9a-f]{6}$'),
  accent_color text check (accent_color is null or accent_color ~ '^#[0-9a-f]{6}$'),
  version integer not null default 1,
  updated_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('tenant_settings', false);
grant select, insert, update on tenant_settings to tsv_app;
