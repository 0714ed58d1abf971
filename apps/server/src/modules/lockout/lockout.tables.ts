import type { Generated } from 'kysely';

/**
 * Failed sign-ins per account and source in a window, keyed by HMACs (written with raw SQL in
 * lockout.ts: one upsert counts and locks atomically; kernel/db/throttle-keys.ts).
 */
export interface LoginFailuresTable {
  account: string;
  /** The hashed client address, or '' for the account-wide counter. */
  source: string;
  failures: Generated<number>;
  window_start: Generated<Date>;
  locked_until: Date | null;
  last_failed_at: Date | null;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    login_failures: LoginFailuresTable;
  }
}
