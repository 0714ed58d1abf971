-- Access control: the permission catalog, tenant roles, organization units, scoped role
-- assignments, and organization-unit scoping of the sample business rows (FR-RBAC-001..004,
-- FR-TEN-005).

-- The permission catalog, copied from code after every migration run; readable, never writable,
-- by the application roles (FR-RBAC-001).
create table permissions (
  key text primary key,
  description text not null,
  plane text not null check (plane in ('tenant', 'platform')),
  sensitive boolean not null default false,
  catalog_version integer not null
);
grant select on permissions to tsv_app, tsv_platform;

-- Roles of a tenant: the default ones carry a key and take their permissions from code; custom
-- ones list catalog permissions of the tenant plane (FR-RBAC-002).
create table roles (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  key text check (key in ('owner', 'admin', 'member', 'readonly', 'auditor')),
  name text not null check (length(name) between 1 and 100),
  description text not null default '' check (length(description) <= 500),
  permissions text[] not null default '{}',
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  primary key (tenant_id, id),
  constraint roles_key_per_tenant unique (tenant_id, key),
  constraint roles_default_permissions check (key is null or permissions = '{}')
);
create unique index roles_tenant_name_idx on roles (tenant_id, lower(name));
call tsv_isolate_table('roles', false);
grant select, insert, update, delete on roles to tsv_app;

-- Organization units (sites, departments) inside a tenant (FR-TEN-005).
create table org_units (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  parent_id uuid,
  name text not null check (length(name) between 1 and 200),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, parent_id) references org_units (tenant_id, id),
  constraint org_units_not_own_parent check (parent_id is distinct from id)
);
create unique index org_units_tenant_name_idx on org_units (tenant_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name));
call tsv_isolate_table('org_units', false);
grant select, insert, update, delete on org_units to tsv_app;

-- A role given to a user, tenant-wide (unit_id null) or in one unit (FR-RBAC-003).
create table role_assignments (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  role_id uuid not null,
  unit_id uuid,
  created_at timestamptz(3) not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  foreign key (tenant_id, role_id) references roles (tenant_id, id),
  foreign key (tenant_id, unit_id) references org_units (tenant_id, id),
  constraint role_assignments_once unique nulls not distinct (tenant_id, user_id, role_id, unit_id)
);
create index role_assignments_tenant_role_idx on role_assignments (tenant_id, role_id);
create index role_assignments_tenant_unit_idx on role_assignments (tenant_id, unit_id);
call tsv_isolate_table('role_assignments', false);
grant select, insert, delete on role_assignments to tsv_app;
-- The platform role may name these tables in a query (users' roles) but has no policy: it sees
-- no row of them.
grant select on roles, role_assignments to tsv_platform;

-- Unit scoping of business rows, enforced by the database: a restrictive policy beside the tenant
-- policy. app.unit_ids is '*' for a tenant-wide caller, else the caller's units for the route's
-- permission; unset or empty reaches no unit-scoped row at all.
create function tsv_unit_visible(unit_id uuid) returns boolean language sql stable as $$
  select case coalesce(current_setting('app.unit_ids', true), '')
    when '*' then true
    when '' then false
    else (unit_id = any (string_to_array(current_setting('app.unit_ids', true), ',')::uuid[])) is true
  end
$$;

alter table customers add column unit_id uuid;
alter table customers add foreign key (tenant_id, unit_id) references org_units (tenant_id, id);
create index customers_tenant_unit_idx on customers (tenant_id, unit_id);
create policy unit_scope on customers as restrictive to tsv_app
  using (tsv_unit_visible(unit_id)) with check (tsv_unit_visible(unit_id));

alter table orders add column unit_id uuid;
alter table orders add foreign key (tenant_id, unit_id) references org_units (tenant_id, id);
create index orders_tenant_unit_idx on orders (tenant_id, unit_id);
create policy unit_scope on orders as restrictive to tsv_app
  using (tsv_unit_visible(unit_id)) with check (tsv_unit_visible(unit_id));

-- Impersonation sessions name the platform staff member behind them (FR-RBAC-005).
alter table sessions add column impersonator_id uuid references users (id);
alter table sessions add column impersonation_reason text;

-- Every existing tenant gets its default roles; each tenant user keeps the role it had as a
-- tenant-wide assignment. Users keep only a platform role (staff), tenant users none.
insert into roles (tenant_id, key, name)
select t.id, r.key, r.name
from tenants t
cross join (values ('owner', 'Owner'), ('admin', 'Administrator'), ('member', 'Member'),
                   ('readonly', 'Read-only'), ('auditor', 'Auditor')) as r (key, name);

insert into role_assignments (tenant_id, user_id, role_id)
select u.tenant_id, u.id, r.id
from users u
join roles r on r.tenant_id = u.tenant_id and r.key = u.role
where u.tenant_id is not null;

alter table users drop constraint users_plane_role;
alter table users drop constraint users_role_check;
alter table users rename column role to platform_role;
alter table users alter column platform_role drop not null;
update users set platform_role = null where tenant_id is not null;
alter table users add constraint users_platform_role check (
  (tenant_id is null and platform_role in ('operator', 'support', 'auditor'))
  or (tenant_id is not null and platform_role is null));
