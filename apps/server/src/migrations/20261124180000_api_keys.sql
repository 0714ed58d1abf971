-- Tenant API keys for system-to-system calls (issue "Identity, complete", item 8).
-- Docs: docs/api-keys.md.
--
-- A key is `tsv_key_<prefix>_<secret>`: the prefix (12 characters) is public and finds the key,
-- the secret is 32 random bytes stored only as its SHA-256. Scopes are permission keys; at use the
-- key grants only those its creator still holds.
create table api_keys (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  prefix text not null check (prefix ~ '^[a-z0-9]{12}$'),
  secret_hash text not null check (secret_hash ~ '^[0-9a-f]{64}$'),
  scopes text[] not null check (cardinality(scopes) between 1 and 100),
  expires_at timestamptz(3),
  created_by uuid not null,
  created_at timestamptz(3) not null default now(),
  last_used_at timestamptz(3),
  revoked_at timestamptz(3),
  revoked_by uuid,
  -- Set on the old key by a rotation: the key that replaces it.
  replaced_by uuid,
  primary key (tenant_id, id),
  foreign key (tenant_id, created_by) references users (tenant_id, id),
  foreign key (tenant_id, revoked_by) references users (tenant_id, id)
);
create index api_keys_tenant_created_idx on api_keys (tenant_id, created_at, id);
-- The one index not led by tenant_id: the prefix is unique over every tenant, because it alone
-- tells which tenant a presented key belongs to.
create unique index api_keys_prefix_idx on api_keys (prefix);
call tsv_isolate_table('api_keys', false);
grant select, insert, update on api_keys to tsv_app;

-- Before a request has a tenant, the platform role maps a presented prefix to its tenant, and
-- nothing more: it may read the two columns, never the hash, scopes or anything else.
create policy platform_key_lookup on api_keys for select to tsv_platform using (true);
grant select (tenant_id, prefix) on api_keys to tsv_platform;
