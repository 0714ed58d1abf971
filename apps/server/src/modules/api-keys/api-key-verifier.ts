import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { isPermission, tenantGrants, type Grants, type Permission, type Reach } from '../../kernel/auth/permissions.ts';
import type { SessionRevocation } from '../../kernel/auth/session-cache.ts';
import type { Actor } from '../../kernel/context.ts';
import type { Database, Tx } from '../../kernel/db/database.ts';
import type { Logger } from '../../kernel/log.ts';
import { findKeyForAuthentication, findTenantOfPrefix, touchApiKey } from './api-keys.queries.ts';
import { setBounded } from '../../kernel/bounded-map.ts';

/**
 * Tenant API keys: `tsv_key_<prefix>_<secret>`. The prefix (12 characters) is public and finds the
 * key; the secret is 32 random bytes (base64url) stored only as its SHA-256 — a 256-bit random
 * secret cannot be guessed from a fast hash, and a slow one would cost CPU on every request.
 */
export const API_KEYS_CHANNEL = 'tsv_api_keys';

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_LENGTH = 12;
const KEY_FORMAT = /^tsv_key_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const TOUCH_INTERVAL_MS = 60_000;

export interface NewApiKey {
  prefix: string;
  /** The whole key, given to the caller once. */
  key: string;
  secretHash: string;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newApiKey(): NewApiKey {
  let prefix = '';
  for (let i = 0; i < PREFIX_LENGTH; i++) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const secret = randomBytes(32).toString('base64url');
  return { prefix, key: `tsv_key_${prefix}_${secret}`, secretHash: hashSecret(secret) };
}

/** Announces a key change inside the transaction that makes it: every node hears it on commit. */
export async function announceApiKeyChange(tx: Tx, keyId: string): Promise<void> {
  await sql`select pg_notify(${API_KEYS_CHANNEL}, ${`key:${keyId}`})`.execute(tx);
}

/** The key's scopes, each reaching only as far as the creator's own grant does now. */
export function keyGrants(scopes: readonly string[], creator: Grants): Grants {
  const grants = new Map<Permission, Reach>();
  for (const scope of scopes) {
    if (!isPermission(scope)) continue;
    const reach = creator.get(scope);
    if (reach) grants.set(scope, reach);
  }
  return grants;
}

interface CachedKey {
  keyId: string;
  tenantId: string;
  createdBy: string;
  secretHash: Buffer;
  grants: Grants;
  expiresAt: number | null;
  /** Not revoked, its creator active and its tenant active, when read. */
  usable: boolean;
  freshUntil: number;
  lastUsedAt: number;
}

/**
 * Authenticates tenant API keys for the guard. Keys seen moments ago are answered from a per-node
 * cache; a revocation or rotation (channel tsv_api_keys) and any change to the tenant's roles or
 * the creator's sessions (channel tsv_sessions) evict them on every node at once; the short TTL is
 * the backstop if a notification is lost.
 */
export class ApiKeyVerifier {
  readonly #entries = new Map<string, CachedKey>();

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The actor of a valid, live key; null for anything else (one answer for every failure). */
  async authenticate(raw: string): Promise<Actor | null> {
    const match = KEY_FORMAT.exec(raw);
    if (!match) return null;
    const [, prefix, secret] = match as unknown as [string, string, string];
    const entry = await this.#find(prefix);
    const now = Date.now();
    const valid =
      entry !== null &&
      timingSafeEqual(entry.secretHash, Buffer.from(hashSecret(secret), 'hex')) &&
      entry.usable &&
      (entry.expiresAt === null || entry.expiresAt > now);
    if (!valid) return null;
    this.#touch(entry, now);
    return {
      type: 'api_key',
      userId: entry.keyId,
      tenantId: entry.tenantId,
      roles: [],
      sessionId: `api-key:${entry.keyId}`,
      amr: ['key'],
      grants: entry.grants,
      impersonatorId: null,
    };
  }

  /** Evicts a changed key (`key:<id>` on tsv_api_keys), or everything on an unexpected payload. */
  applyKeyChange(payload: string): void {
    const [kind, id] = payload.split(':', 2);
    if (kind !== 'key' || !id) return this.#entries.clear();
    for (const [prefix, entry] of this.#entries) if (entry.keyId === id) this.#entries.delete(prefix);
  }

  /** Follows tsv_sessions: a tenant's roles changed, a tenant suspended or a creator's sessions ended. */
  applySessionChange(change: SessionRevocation): void {
    if (change.kind === 'session') return;
    if (change.kind === 'all') return this.#entries.clear();
    for (const [prefix, entry] of this.#entries) {
      if ((change.kind === 'user' ? entry.createdBy : entry.tenantId) === change.id) this.#entries.delete(prefix);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async #find(prefix: string): Promise<CachedKey | null> {
    const now = Date.now();
    const cached = this.#entries.get(prefix);
    if (cached && cached.freshUntil > now) return cached;
    const owner = await this.db.withPlatform((tx) => findTenantOfPrefix(tx, prefix));
    const row = owner ? await this.db.withWholeTenant(owner.tenant_id, (tx) => findKeyForAuthentication(tx, prefix)) : undefined;
    if (!owner || !row) {
      this.#entries.delete(prefix);
      return null;
    }
    const entry: CachedKey = {
      keyId: row.id,
      tenantId: owner.tenant_id,
      createdBy: row.created_by,
      secretHash: Buffer.from(row.secret_hash, 'hex'),
      grants: keyGrants(row.scopes, tenantGrants((row.assignments ?? []).map((a) => ({ roleKey: a.k, permissions: a.p, unitId: a.u })))),
      expiresAt: row.expires_at ? new Date(row.expires_at).getTime() : null,
      usable: row.revoked_at === null && row.creator_status === 'active' && row.tenant_status === 'active',
      freshUntil: now + this.ttlMs,
      lastUsedAt: 0,
    };
    if (this.ttlMs > 0) {
      setBounded(this.#entries, prefix, entry, this.maxEntries);
    }
    return entry;
  }

  /** Records the last use without holding up the request. */
  #touch(entry: CachedKey, now: number): void {
    if (now - entry.lastUsedAt < TOUCH_INTERVAL_MS) return;
    entry.lastUsedAt = now;
    this.db
      .withWholeTenant(entry.tenantId, (tx) => touchApiKey(tx, entry.keyId))
      .catch((error: unknown) => this.log.warn({ err: error, keyId: entry.keyId }, 'could not record the last use of an API key'));
  }
}
