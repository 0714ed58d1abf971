-- Audit chain heads move only the way recordAudit moves them (FR-AUD-002, CON-SEC-009). Docs:
-- docs/audit.md, docs/adr/0011-audit-checkpoints.md.
--
-- The app roles must UPDATE a head to append (kernel/audit/audit.ts), and that grant alone let
-- them rewind it or point it anywhere. These triggers hold for every role, the owner included
-- (only disabling them explicitly, which the catalog shows, gets past them):
--   - a head keeps its chain_id and tenant_id;
--   - an UPDATE advances seq by exactly one (several appends in one transaction are several updates);
--   - a new head is inserted empty (seq 0, last_hash '') and a head is never deleted or truncated;
--   - the head after an UPDATE names an existing event: same chain, seq and hash, whose prev_hash
--     is the head's previous last_hash.
-- The last check is a constraint trigger, run at the end of the statement: recordAudit updates the
-- head and inserts its event in one statement, so the event exists by then. It is not deferred to
-- commit by default because a transaction can change role on the way (a platform transaction that
-- provisions a tenant ends as the app role in that tenant, enterTenantContext), and at commit the
-- platform chain's events would be invisible to the check under RLS. A caller may still defer it
-- with SET CONSTRAINTS; it then runs at commit, never not at all.

create function audit_chain_heads_guard() returns trigger language plpgsql as $$
begin
  if tg_op in ('DELETE', 'TRUNCATE') then
    raise exception 'audit chain heads are never removed' using errcode = '42501';
  end if;
  if tg_op = 'INSERT' then
    if new.seq <> 0 or new.last_hash <> '' then
      raise exception 'an audit chain starts empty (seq 0)' using errcode = '42501';
    end if;
    return new;
  end if;
  if new.chain_id is distinct from old.chain_id or new.tenant_id is distinct from old.tenant_id then
    raise exception 'an audit chain head keeps its chain and tenant' using errcode = '42501';
  end if;
  if new.seq is distinct from old.seq + 1 then
    raise exception 'an audit chain head advances by one event at a time' using errcode = '42501';
  end if;
  return new;
end
$$;
create trigger audit_chain_heads_guard before insert or update or delete on audit_chain_heads
  for each row execute function audit_chain_heads_guard();
create trigger audit_chain_heads_no_truncate before truncate on audit_chain_heads
  for each statement execute function audit_chain_heads_guard();

create function audit_chain_heads_match_event() returns trigger language plpgsql as $$
begin
  if not exists (
    select 1 from audit_events e
     where e.chain_id = new.chain_id and e.seq = new.seq and e.hash = new.last_hash and e.prev_hash = old.last_hash
  ) then
    raise exception 'an audit chain head must name the event appended to it' using errcode = '42501';
  end if;
  return null;
end
$$;
create constraint trigger audit_chain_heads_match_event after update on audit_chain_heads
  deferrable initially immediate
  for each row execute function audit_chain_heads_match_event();
