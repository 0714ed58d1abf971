/**
 * Which sessions were recently seen active, so that a request does not pay a database round trip
 * to learn that its session still stands. Revocation evicts entries at once on the node that made
 * it and, through NOTIFY on the `tsv_sessions` channel, on every other node within milliseconds;
 * the short TTL is the backstop if a notification is ever lost (docs/adr/0004).
 */
export const SESSION_CHANNEL = 'tsv_sessions';

interface Entry {
  tenantId: string | null;
  userId: string;
  freshUntil: number;
  expiresAt: number;
}

export type SessionRevocation =
  | { kind: 'session'; id: string }
  | { kind: 'user'; id: string }
  | { kind: 'tenant'; id: string }
  | { kind: 'all' };

export function encodeRevocation(revocation: SessionRevocation): string {
  return revocation.kind === 'all' ? 'all' : `${revocation.kind}:${revocation.id}`;
}

export function decodeRevocation(payload: string): SessionRevocation {
  const [kind, id] = payload.split(':', 2);
  if ((kind === 'session' || kind === 'user' || kind === 'tenant') && id) return { kind, id };
  // Anything unexpected clears everything: never keep a grant we cannot account for.
  return { kind: 'all' };
}

export class SessionCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 100_000) {}

  isActive(sessionId: string, now = Date.now()): boolean {
    const entry = this.#entries.get(sessionId);
    if (!entry) return false;
    if (entry.freshUntil < now || entry.expiresAt < now) {
      this.#entries.delete(sessionId);
      return false;
    }
    return true;
  }

  remember(sessionId: string, entry: { tenantId: string | null; userId: string; expiresAt: Date }, now = Date.now()) {
    if (this.ttlMs === 0) return;
    if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    this.#entries.set(sessionId, {
      tenantId: entry.tenantId,
      userId: entry.userId,
      expiresAt: entry.expiresAt.getTime(),
      freshUntil: now + this.ttlMs,
    });
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
