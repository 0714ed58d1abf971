-- The principal behind a session, as the request guard resolves it (kernel/http/guard.ts): the
-- session, its user, its tenant's status, the user's role assignments with their permissions, the
-- tenant's idle timeout and whether it requires a verified phone number. One row per session, read
-- in one round trip; the kernel reads these facts here and names none of the tables behind them.
--
-- security_invoker: the view reads as the caller, so row-level security of every table behind it
-- holds (a tenant's context sees only its own sessions, the platform role only operators').
create view session_principals with (security_invoker = true) as
select s.id, s.status, s.tenant_id, s.user_id, s.expires_at, s.last_seen_at,
       s.impersonator_id, s.impersonation_reason, s.elevated_role,
       u.status as user_status, u.platform_role, u.platform_region,
       u.email_verified_at is not null as email_verified,
       t.status as tenant_status,
       (select json_agg(json_build_object('k', r.key, 'p', r.permissions, 'u', a.unit_id))
          from role_assignments a join roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
         where a.tenant_id = s.tenant_id and a.user_id = s.user_id) as assignments,
       (select p.idle_timeout_seconds from tenant_session_policy p where p.tenant_id = s.tenant_id) as tenant_idle_timeout_seconds,
       -- FR-VER-002: a tenant that requires a verified phone number gates its members until they have one.
       (u.phone_verified_at is null
         and coalesce((select v.require_phone from tenant_verification_policy v where v.tenant_id = s.tenant_id), false)) as phone_unverified
  from sessions s
  join users u on u.id = s.user_id
  left join tenants t on t.id = s.tenant_id;
grant select on session_principals to tsv_app, tsv_platform;
-- The platform role reads the view for operators' sessions, so it must be allowed to name the
-- tenant policies it joins; it has no policy on them and sees no row (as roles, role_assignments).
grant select on tenant_session_policy, tenant_verification_policy to tsv_platform;

-- A session's last use, written by the guard at most once a minute (FR-AUTH-008): only when the
-- stored time is older than stale_before, so that nodes touching the same session write it once.
-- Runs as the caller (no SECURITY DEFINER): row-level security of sessions holds.
create function tsv_touch_session(session_id uuid, seen_at timestamptz, stale_before timestamptz) returns void
language sql as $$
  update sessions set last_seen_at = seen_at where id = session_id and last_seen_at < stale_before
$$;
