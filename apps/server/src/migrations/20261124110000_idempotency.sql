-- Idempotency-Key records (FR-IDEM-001). The first request with a key claims it under a lease
-- (lease_id, locked_until); its final answer (2xx or 4xx) is kept until expires_at (24 hours) and
-- replayed to a retry with the same request hash. A claim whose lease lapsed (its holder crashed)
-- is taken over by the next retry. Keys belong to one principal (a user or an application): in its
-- tenant's rows, or with tenant_id null for platform callers, which only the platform role sees.
create table idempotency_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants (id),
  principal text not null check (length(principal) between 1 and 100),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null,
  status text not null default 'in_progress' check (status in ('in_progress', 'completed')),
  lease_id uuid,
  locked_until timestamptz(3),
  response_status integer check (response_status between 200 and 499),
  response_headers jsonb,
  response_body text,
  created_at timestamptz(3) not null default now(),
  expires_at timestamptz(3) not null,
  -- Led by tenant_id: the index every lookup uses, and the one RLS narrows.
  constraint idempotency_keys_scope_key unique nulls not distinct (tenant_id, principal, idempotency_key),
  constraint idempotency_keys_state check (
    (status = 'in_progress' and lease_id is not null and locked_until is not null and response_status is null)
    or (status = 'completed' and lease_id is null and response_status is not null))
);
create index idempotency_keys_expiry_idx on idempotency_keys (tenant_id, expires_at);

call tsv_isolate_table('idempotency_keys', true);
grant select, insert, update, delete on idempotency_keys to tsv_app, tsv_platform;
