-- Caps on verification codes that no single account can see round (FR-VER-002, SMS pumping): per
-- destination (a phone number or an email address, whichever accounts and tenants ask) and per
-- tenant. Docs: docs/verification-and-mail.md.
--
-- A destination's count must see every tenant's sends, so the counters are platform-owned: no
-- tenant_id, one row per counter and window. Each row is keyed by an HMAC of what it counts under a
-- key derived from SECRETS_KEY (kernel/db/throttle-keys.ts), so the table names no number or
-- address. Both app roles may read and write it, but RLS shows only the rows whose key the
-- transaction named in app.throttle_keys: a statement reached through an app role touches only the
-- counters it can compute keys for, which needs the secret, and cannot list or reset others. No
-- SECURITY DEFINER function is involved (DESIGN, tenant isolation rule 6).
create table verification_send_counts (
  key text primary key check (key ~ '^[0-9a-f]{64}$'),
  window_start timestamptz(3) not null default now(),
  sends integer not null default 0 check (sends >= 0)
);
alter table verification_send_counts enable row level security;
alter table verification_send_counts force row level security;
create policy named_keys on verification_send_counts to tsv_app, tsv_platform
  using (key = any (string_to_array(current_setting('app.throttle_keys', true), ',')))
  with check (key = any (string_to_array(current_setting('app.throttle_keys', true), ',')));
grant select, insert, update on verification_send_counts to tsv_app, tsv_platform;
