-- Login failures counted per account and source, and per account (FR-AUTH-004, FR-AUTH-007): five
-- in a row from one source lock that source out of the account for 15 minutes; the account-wide
-- count only slows answers down. Docs: docs/passwords-and-lockout.md.
--
-- The account is the login name (tenant and normalised address) whether or not the account exists,
-- so an unknown one locks like a known one and the answers reveal nothing; and an unknown tenant has
-- no tenant context to count in. So the table belongs to no tenant, like verification_send_counts:
-- each key is an HMAC under a key derived from SECRETS_KEY (no address or client address in the
-- clear), and RLS shows a row to the app roles only when the transaction named its account key in
-- app.throttle_keys (kernel/db/throttle-keys.ts). A statement reached through an app role can
-- neither list the counters nor lock or unlock accounts it cannot compute keys for.
--
-- Rows: (account, source) counts consecutive failures and holds the lock; (account, '') counts the
-- failures of every source in a window of an hour.
create table login_failures (
  account text not null check (account ~ '^[0-9a-f]{64}$'),
  source text not null check (source = '' or source ~ '^[0-9a-f]{64}$'),
  failures integer not null default 0 check (failures >= 0),
  window_start timestamptz(3) not null default now(),
  locked_until timestamptz(3),
  last_failed_at timestamptz(3),
  primary key (account, source)
);
alter table login_failures enable row level security;
alter table login_failures force row level security;
create policy named_keys on login_failures to tsv_app, tsv_platform
  using (account = any (string_to_array(current_setting('app.throttle_keys', true), ',')))
  with check (account = any (string_to_array(current_setting('app.throttle_keys', true), ',')));
grant select, insert, update, delete on login_failures to tsv_app, tsv_platform;

-- users.failed_login_count, last_failed_login_at and locked_until are no longer read or written;
-- the previous release still uses them, so a later release drops them.
