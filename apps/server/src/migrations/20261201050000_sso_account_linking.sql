-- Linking a first SSO sign-in to an existing account (docs/sso.md, "Which account signs in"): only
-- when the organization trusts its identity provider for it, or from the account itself.

-- Off by default: a first sign-in whose verified address matches an existing account links it only
-- when the Owner turned this on (and never an account with a second factor or a sensitive permission).
alter table tenant_sso_configs add column link_existing_accounts boolean not null default false;

-- A sign-in started from a signed-in account to link it ("Link single sign-on" on the account page):
-- the callback links the provider subject to this user instead of signing anyone in.
alter table sso_logins add column link_user_id uuid;
alter table sso_logins add foreign key (tenant_id, link_user_id) references users (tenant_id, id);
