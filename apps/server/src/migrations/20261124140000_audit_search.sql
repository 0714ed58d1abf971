-- Audit search, export and the platform auditor's view (FR-AUD-001, FR-AUD-006, FR-LOG-002,
-- CON-ARCH-007). Docs: docs/audit.md.

-- Search is newest first on (occurred_at, seq) inside a tenant (seq is unique in the tenant's
-- chain). The time order and the selective filters (actor, action, resource, correlation id) have
-- indexes led by tenant_id; outcome, actor type and severity only narrow what those find. The
-- foundation's (tenant_id, occurred_at) index is superseded by the first one.
create index audit_events_tenant_time_seq_idx on audit_events (tenant_id, occurred_at, seq);
drop index audit_events_tenant_time_idx;
create index audit_events_tenant_actor_idx on audit_events (tenant_id, actor_id, occurred_at, seq);
-- text_pattern_ops serves both the exact action and its prefix (`auth.*` is `like 'auth.%'`).
create index audit_events_tenant_action_idx on audit_events (tenant_id, action text_pattern_ops, occurred_at);
create index audit_events_tenant_resource_idx on audit_events (tenant_id, resource_type, resource_id, occurred_at);
create index audit_events_tenant_correlation_idx on audit_events (tenant_id, correlation_id);
-- Security events are few among the audit events: a partial index keeps their listing cheap.
create index audit_events_tenant_security_idx on audit_events (tenant_id, occurred_at, seq) where category = 'security';

-- The platform auditor's view spans tenants, newest first on (occurred_at, chain_id, seq).
create index audit_events_time_chain_seq_idx on audit_events (occurred_at, chain_id, seq);

-- CON-ARCH-007: the platform plane may read audit evidence, never tenant business data. This
-- policy adds the tenants' audit rows to what tsv_platform may SELECT (its own policy already
-- covers the platform chain, tenant_id null). It grants no INSERT, UPDATE or DELETE: the
-- platform role still appends only to the platform chain, and the append-only trigger and grants
-- stand for every role. The platform audit routes need the permission platform.audit.read.
create policy platform_audit_read on audit_events for select to tsv_platform using (tenant_id is not null);
