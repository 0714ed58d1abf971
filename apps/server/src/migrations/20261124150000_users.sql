-- Users of a tenant and their lifecycle (disable, soft delete), invitations with single-use
-- expiring tokens, and the tenant's invitation settings (FR-TENANT-001..007).
-- Docs: docs/users-and-invitations.md.

-- A deleted user keeps its row (audit events, sessions and invitations point at it) but frees its
-- address: the email is rewritten to an unusable one and the original kept in deleted_email, so the
-- unique (tenant_id, email) lets the same address be invited again.
alter table users drop constraint users_status_check;
alter table users add constraint users_status_check check (status in ('active', 'disabled', 'deleted'));
alter table users add column deleted_at timestamptz(3);
alter table users add column deleted_email text check (deleted_email is null or length(deleted_email) <= 320);
alter table users add constraint users_deleted check ((status = 'deleted') = (deleted_at is not null));
-- The users list pages by (created_at, id) inside a tenant.
create index users_tenant_created_idx on users (tenant_id, created_at, id);

-- Invitations: the token is stored as its SHA-256 only. Status 'expired' is stored when a newer
-- invitation to the same address replaces a pending one past its expiry; otherwise a pending
-- invitation past expires_at is reported as expired without being rewritten.
create table invitations (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  email text not null check (email = lower(email) and length(email) <= 320),
  role_id uuid not null,
  unit_id uuid,
  token_hash text not null check (token_hash ~ '^[0-9a-f]{64}$'),
  status text not null default 'pending' check (status in ('pending', 'accepted', 'revoked', 'expired')),
  expires_at timestamptz(3) not null,
  invited_by uuid,
  sent_count integer not null default 1,
  last_sent_at timestamptz(3) not null default now(),
  accepted_user_id uuid,
  accepted_at timestamptz(3),
  revoked_at timestamptz(3),
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  primary key (tenant_id, id),
  -- Deleting the role or the unit an invitation names withdraws the invitation (the audit log
  -- keeps its history): a role or unit never stays undeletable because someone was once invited.
  foreign key (tenant_id, role_id) references roles (tenant_id, id) on delete cascade,
  foreign key (tenant_id, unit_id) references org_units (tenant_id, id) on delete cascade,
  foreign key (tenant_id, invited_by) references users (tenant_id, id),
  foreign key (tenant_id, accepted_user_id) references users (tenant_id, id),
  -- Accepting claims the invitation first (one winner among concurrent accepts), then creates the user.
  constraint invitations_accepted_user check (accepted_user_id is null or status = 'accepted')
);
create unique index invitations_tenant_token_idx on invitations (tenant_id, token_hash);
-- One live invitation per address; a concurrent second invite fails here (409).
create unique index invitations_tenant_pending_email_idx on invitations (tenant_id, email) where status = 'pending';
create index invitations_tenant_created_idx on invitations (tenant_id, created_at, id);
call tsv_isolate_table('invitations', false);
grant select, insert, update on invitations to tsv_app;

-- Per-tenant invitation settings; no row means the defaults.
create table invitation_settings (
  tenant_id uuid primary key references tenants (id),
  expiry_days integer not null default 7 check (expiry_days between 1 and 30),
  version integer not null default 1,
  updated_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
call tsv_isolate_table('invitation_settings', false);
grant select, insert, update on invitation_settings to tsv_app;
