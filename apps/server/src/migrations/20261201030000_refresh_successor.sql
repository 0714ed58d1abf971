-- FR-AUTH-005: a rotated refresh token keeps its successor, sealed under a key derived from the
-- rotated token itself (never stored), so that the same token presented again within
-- REFRESH_REUSE_GRACE_SECONDS (two tabs refreshing at once) answers with that successor instead of
-- revoking the session. Docs: docs/adr/0010-refresh-reuse-grace.md.
alter table refresh_tokens add column successor_sealed text;
