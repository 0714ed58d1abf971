import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { setBounded } from '../bounded-map.ts';
import type { Logger } from '../log.ts';
import { hashTokenSecret } from './scoped-token.ts';

/**
 * Keys of the form `tsv_<kind>_<prefix>_<secret>`: tenant API keys (`key`) and application keys
 * (`app`). The prefix (12 characters) is public and finds the key; the secret is 32 random bytes
 * (base64url), stored only as its SHA-256.
 *
 * Why SHA-256 and not Argon2 as for passwords: a slow hash protects secrets people choose, which
 * can be guessed from a stolen hash. A 256-bit random secret cannot be guessed from its SHA-256
 * however fast the hash is, and a slow hash would only cost CPU on every request.
 */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_LENGTH = 12;

export interface MintedKey {
  prefix: string;
  /** The whole key, given to the caller once. */
  key: string;
  /** What is stored: the secret's SHA-256, hex. */
  secretHash: string;
}

export interface PresentedKey {
  prefix: string;
  secret: string;
}

export interface PrefixedKeyFormat {
  mint(): MintedKey;
  /** The key's parts, or null for anything not of this kind's exact form. */
  parse(raw: string | null | undefined): PresentedKey | null;
}

export function prefixedKeyFormat(kind: 'key' | 'app'): PrefixedKeyFormat {
  const format = new RegExp(`^tsv_${kind}_([a-z0-9]{${PREFIX_LENGTH}})_([A-Za-z0-9_-]{43})$`);
  return {
    mint() {
      let prefix = '';
      for (let i = 0; i < PREFIX_LENGTH; i++) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
      const secret = randomBytes(32).toString('base64url');
      return { prefix, key: `tsv_${kind}_${prefix}_${secret}`, secretHash: hashTokenSecret(secret) };
    },
    parse(raw) {
      const match = raw ? format.exec(raw) : null;
      return match ? { prefix: match[1]!, secret: match[2]! } : null;
    },
  };
}

/** Last use is written at most this often per key and node. */
const TOUCH_INTERVAL_MS = 60_000;

/** What a key cache holds of a key, read from its owner's table. */
export interface StoredKey {
  keyId: string;
  /** The stored SHA-256 of the secret, hex. */
  secretHash: string;
  /** Not revoked, and whatever it belongs to (application, creator, tenant) active, when read. */
  usable: boolean;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

interface CachedEntry<K extends StoredKey> {
  key: K;
  hash: Buffer;
  freshUntil: number;
  lastUsedAt: number;
}

/**
 * Verifies presented keys of one kind. Keys seen moments ago are answered from a per-node cache,
 * which the owning module evicts on the NOTIFY of a change (`evict`, `clear`); the TTL is the
 * backstop if a notification is lost. The last use is recorded at most once a minute per key and
 * node, without holding up the request.
 */
export class KeyVerifier<K extends StoredKey> {
  readonly #entries = new Map<string, CachedEntry<K>>();

  constructor(
    private readonly options: {
      format: PrefixedKeyFormat;
      load(prefix: string): Promise<K | null>;
      recordUse(key: K): Promise<unknown>;
      log: Logger;
      ttlMs?: number;
      maxEntries?: number;
    },
  ) {}

  /** The stored key of a valid, live presented key; null for anything else (one answer for every failure). */
  async verify(raw: string | null | undefined): Promise<K | null> {
    const presented = this.options.format.parse(raw);
    if (!presented) return null;
    const entry = await this.#find(presented.prefix);
    const now = Date.now();
    const valid =
      entry !== null &&
      timingSafeEqual(entry.hash, Buffer.from(hashTokenSecret(presented.secret), 'hex')) &&
      entry.key.usable &&
      (entry.key.expiresAt === null || entry.key.expiresAt.getTime() > now);
    if (!valid) return null;
    this.#touch(entry, now);
    return entry.key;
  }

  /** Drops the cached keys the predicate picks. */
  evict(picks: (key: K) => boolean): void {
    for (const [prefix, entry] of this.#entries) if (picks(entry.key)) this.#entries.delete(prefix);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async #find(prefix: string): Promise<CachedEntry<K> | null> {
    const now = Date.now();
    const cached = this.#entries.get(prefix);
    if (cached && cached.freshUntil > now) return cached;
    const key = await this.options.load(prefix);
    if (!key) {
      this.#entries.delete(prefix);
      return null;
    }
    const ttlMs = this.options.ttlMs ?? 30_000;
    const entry: CachedEntry<K> = { key, hash: Buffer.from(key.secretHash, 'hex'), freshUntil: now + ttlMs, lastUsedAt: key.lastUsedAt?.getTime() ?? 0 };
    if (ttlMs > 0) setBounded(this.#entries, prefix, entry, this.options.maxEntries ?? 10_000);
    return entry;
  }

  #touch(entry: CachedEntry<K>, now: number): void {
    if (now - entry.lastUsedAt < TOUCH_INTERVAL_MS) return;
    entry.lastUsedAt = now;
    this.options.recordUse(entry.key).catch((error: unknown) => this.options.log.warn({ err: error, keyId: entry.key.keyId }, 'could not record the last use of a key'));
  }
}
