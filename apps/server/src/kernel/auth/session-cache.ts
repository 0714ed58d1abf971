import type { Grants } from './permissions.ts';
import type { Region } from '../db/schema.ts';
import { setBounded } from '../bounded-map.ts';

/**
 * Which sessions were recently seen active, so that a request does not pay a database round trip
 * to learn that its session still stands. Revocation evicts entries at once on the node that made
 * it and, through NOTIFY on the `tsv_sessions` channel, on every other node within milliseconds;
 * the short TTL is the backstop if a notification is ever lost (docs/adr/0004).
 */
export const SESSION_CHANNEL = 'tsv_sessions';

/** What a request needs to know about its session: that it stands, and the caller's grants. */
export interface ActiveSession {
  tenantId: string | null;
  userId: string;
  expiresAt: Date;
  grants: Grants;
  impersonatorId: string | null;
  /** Why the impersonation was started, given with it (FR-RBAC-005); recorded with every event. */
  impersonationReason?: string | null;
  /** The region platform staff are bound to, if any (CON-ARCH-007). */
  platformRegion?: Region | null;
  /** What the user must verify before anything else (FR-VER-001, FR-VER-002); null when nothing. */
  unverified?: 'email' | 'phone' | null;
}

interface Entry extends ActiveSession {
  freshUntil: number;
}

/**
 * What changed: one session, every session of a user or tenant ended, or (`grants`) the roles of a
 * tenant changed, so its cached grants must be resolved again. Every kind evicts cache entries.
 */
export type SessionRevocation =
  | { kind: 'session'; id: string }
  | { kind: 'user'; id: string }
  | { kind: 'tenant'; id: string }
  | { kind: 'grants'; id: string }
  | { kind: 'all' };

export function encodeRevocation(revocation: SessionRevocation): string {
  return revocation.kind === 'all' ? 'all' : `${revocation.kind}:${revocation.id}`;
}

export function decodeRevocation(payload: string): SessionRevocation {
  const [kind, id] = payload.split(':', 2);
  if ((kind === 'session' || kind === 'user' || kind === 'tenant' || kind === 'grants') && id) return { kind, id };
  // Anything unexpected clears everything: never keep a grant we cannot account for.
  return { kind: 'all' };
}

export class SessionCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 100_000) {}

  /** The session as last seen active, or null when it must be checked in the database. */
  get(sessionId: string, now = Date.now()): ActiveSession | null {
    const entry = this.#entries.get(sessionId);
    if (!entry) return null;
    if (entry.freshUntil < now || entry.expiresAt.getTime() < now) {
      this.#entries.delete(sessionId);
      return null;
    }
    return entry;
  }

  remember(sessionId: string, session: ActiveSession, now = Date.now()) {
    if (this.ttlMs === 0) return;
    setBounded(this.#entries, sessionId, { ...session, freshUntil: now + this.ttlMs }, this.maxEntries);
  }

  apply(revocation: SessionRevocation) {
    if (revocation.kind === 'all') return this.#entries.clear();
    if (revocation.kind === 'session') return void this.#entries.delete(revocation.id);
    for (const [id, entry] of this.#entries) {
      if ((revocation.kind === 'user' ? entry.userId : entry.tenantId) === revocation.id) this.#entries.delete(id);
    }
  }

  get size() {
    return this.#entries.size;
  }
}
