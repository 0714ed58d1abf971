-- Impersonation with safeguards (FR-RBAC-005) and the platform Super Admin (FR-RBAC-006, FR-AUD-001).
-- Docs: docs/impersonation.md.

-- Every audit event written in an impersonation session names the platform staff member behind
-- the actor and the reason given. Both stay out of the hash of events that have none, so every
-- chain written before this migration still verifies.
alter table audit_events add column impersonator_id uuid;
alter table audit_events add column impersonation_reason text;

-- A platform session elevated to Super Admin (the staging allow-list today, an identity provider's
-- claim later). Only ever set at login; never stored on the user.
alter table sessions add column elevated_role text check (elevated_role = 'super_admin');
alter table sessions add constraint sessions_elevated_platform_only check (elevated_role is null or tenant_id is null);
-- An impersonation session is a tenant session with a reason.
alter table sessions add constraint sessions_impersonation_in_tenant
  check (impersonator_id is null or (tenant_id is not null and impersonation_reason is not null));

-- The platform plane's record of impersonations: who, whom, why, until when and who ended it. Its
-- id is the impersonation session's id. The target tenant is data here, not the row's owner: only
-- tsv_platform reads and writes this table, the app role has no grant at all (CON-ARCH-007).
create table impersonations (
  id uuid primary key,
  impersonator_id uuid not null references users (id),
  target_tenant_id uuid not null references tenants (id),
  target_user_id uuid not null,
  reason text not null check (length(reason) between 10 and 500),
  ticket_id text check (length(ticket_id) between 1 and 100),
  created_at timestamptz(3) not null default now(),
  expires_at timestamptz(3) not null,
  ended_at timestamptz(3),
  ended_by uuid references users (id),
  -- Written in the platform part of the transaction, before the tenant part checks the user and
  -- creates the session: these keys are checked at commit.
  foreign key (id) references sessions (id) deferrable initially deferred,
  foreign key (target_user_id) references users (id) deferrable initially deferred,
  constraint impersonations_at_most_30_minutes check (expires_at > created_at and expires_at <= created_at + interval '30 minutes')
);
create index impersonations_created_idx on impersonations (created_at desc, id desc);
create index impersonations_tenant_idx on impersonations (target_tenant_id, created_at desc);

alter table impersonations enable row level security;
alter table impersonations force row level security;
create policy platform_all on impersonations to tsv_platform using (true) with check (true);
grant select, insert on impersonations to tsv_platform;
grant update (ended_at, ended_by) on impersonations to tsv_platform;
