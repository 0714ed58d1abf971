import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { encodeRevocation, SESSION_CHANNEL, type SessionCache, type SessionRevocation } from './session-cache.ts';

/**
 * Announces a revocation inside the transaction that makes it: PostgreSQL delivers the NOTIFY to
 * every node's listener when (and only if) the transaction commits.
 */
export async function announceRevocation(tx: Tx, revocation: SessionRevocation): Promise<void> {
  await sql`select pg_notify(${SESSION_CHANNEL}, ${encodeRevocation(revocation)})`.execute(tx);
}

/** Runs a change that revokes sessions, then evicts them on this node without waiting for the echo. */
export async function withRevocation<T>(
  cache: SessionCache,
  revocation: SessionRevocation,
  change: () => Promise<T>,
): Promise<T> {
  const result = await change();
  cache.apply(revocation);
  return result;
}
