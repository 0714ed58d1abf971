-- A tenant may ask for stronger passwords than the platform's minimum guess estimate (zxcvbn score
-- 3 of 4, FR-AUTH-002). Docs: docs/passwords-and-lockout.md. The previous release never reads the
-- column, and its default is the platform minimum (blue/green safe).
alter table password_policies add column min_strength integer not null default 3 check (min_strength between 3 and 4);
