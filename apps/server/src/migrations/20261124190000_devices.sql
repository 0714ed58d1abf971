-- Devices and session policy (FR-AUTH-008): the devices a tenant user signs in from, linked to
-- sessions, and a tenant's own (only shorter) session lifetimes.

create table devices (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  os text check (length(os) <= 100),
  app_version text check (length(app_version) <= 50),
  ip text,
  first_seen_at timestamptz(3) not null default now(),
  last_seen_at timestamptz(3) not null default now(),
  revoked_at timestamptz(3),
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
create index devices_tenant_user_idx on devices (tenant_id, user_id, last_seen_at);
call tsv_isolate_table('devices', false);
grant select, insert, update on devices to tsv_app;

-- Operator sessions have no tenant and no device: the key is matched only when device_id is set.
alter table sessions add column device_id uuid;
alter table sessions add column new_device boolean not null default false;
alter table sessions add constraint sessions_device_fkey foreign key (tenant_id, device_id) references devices (tenant_id, id);
create index sessions_tenant_device_idx on sessions (tenant_id, device_id) where device_id is not null;

create table tenant_session_policy (
  tenant_id uuid not null references tenants (id) primary key,
  idle_timeout_seconds integer check (idle_timeout_seconds > 0),
  absolute_ttl_seconds integer check (absolute_ttl_seconds > 0),
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('tenant_session_policy', false);
grant select, insert, update on tenant_session_policy to tsv_app;
