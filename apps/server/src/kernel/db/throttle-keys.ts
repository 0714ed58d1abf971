import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import type { Tx } from './database.ts';

/**
 * The keys of the counters that span tenants (verification codes per destination, login failures
 * per account and source): HMAC-SHA-256 under a key derived from SECRETS_KEY, so no row names an
 * account, address, number or client in the clear, and only this process can tell which row
 * counts what.
 */
export interface ThrottleKeys {
  /** The key of `value` for one purpose: 64 hex digits. */
  of(purpose: string, value: string): string;
}

export function createThrottleKeys(secret: Buffer): ThrottleKeys {
  return { of: (purpose, value) => createHmac('sha256', secret).update(`${purpose}\n${value}`).digest('hex') };
}

/**
 * Names the counter rows this transaction may read and write. The counter tables show a row only
 * when its key is named here: a statement reached through an app role touches only the counters
 * whose keys it can compute, which needs the secret, and can neither list nor reset anyone else's.
 */
export async function nameThrottleKeys(tx: Tx, keys: readonly string[]): Promise<void> {
  await sql`select set_config('app.throttle_keys', concat_ws(',', nullif(current_setting('app.throttle_keys', true), ''), ${keys.join(',')}::text), true)`.execute(tx);
}
