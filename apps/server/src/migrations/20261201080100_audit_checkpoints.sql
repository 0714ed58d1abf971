-- Signed checkpoints of the audit chain heads (FR-AUD-002, FR-LOG-001). Docs: docs/audit.md,
-- docs/adr/0011-audit-checkpoints.md.
--
-- The worker signs every chain head that moved since its last checkpoint (job
-- audit-checkpoints) with an Ed25519 key that only the worker process holds, outside the
-- database, and writes each checkpoint here and to the log. The verifier checks every checkpoint
-- against the chain: a tail cut off together with a rewound head is found as long as one
-- checkpoint past the cut survives here or in an exported copy.
--
-- Written on the owner connection only (the worker's job), and read there by the verifier. The app
-- roles may only read, under RLS as every audit table: a tenant's context sees its own chain's
-- checkpoints, the platform role the platform chain's. Append-only for every role, as audit_events.
create table audit_checkpoints (
  id uuid primary key default gen_random_uuid(),
  chain_id uuid not null,
  tenant_id uuid references tenants (id),
  seq bigint not null check (seq > 0),
  last_hash text not null check (last_hash ~ '^[0-9a-f]{64}$'),
  signed_at timestamptz(3) not null,
  key_id text not null check (length(key_id) between 1 and 100),
  signature text not null check (length(signature) between 1 and 200),
  -- One checkpoint per head position: a job retried, or two workers at once, sign it once.
  constraint audit_checkpoints_chain_seq unique (chain_id, seq),
  constraint audit_checkpoints_plane check (tenant_id is null or tenant_id = chain_id)
);
create index audit_checkpoints_tenant_idx on audit_checkpoints (tenant_id, chain_id, seq);
call tsv_isolate_table('audit_checkpoints', true);
grant select on audit_checkpoints to tsv_app, tsv_platform;

-- One refusal for every append-only table from here on; it names the table.
create function tsv_append_only() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only', tg_table_name using errcode = '42501';
end
$$;
create trigger audit_checkpoints_no_update before update or delete on audit_checkpoints
  for each row execute function tsv_append_only();
create trigger audit_checkpoints_no_truncate before truncate on audit_checkpoints
  for each statement execute function tsv_append_only();
