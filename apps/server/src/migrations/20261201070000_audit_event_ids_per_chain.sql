-- An audit event's id is unique within its chain, not across tenants (FR-LOG-001): a managed
-- application chooses the ids it sends, and a global key answered 409 for an id that only another
-- tenant's log holds, telling the caller it exists there. Lookups by id are scoped to a chain.
-- Rebuilding the key takes a lock on audit_events for as long as the index build: see docs/operations.md.
alter table audit_events drop constraint audit_events_pkey;
alter table audit_events add primary key (chain_id, id);
