import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { recordSecurityEvent } from '../../kernel/audit/audit.ts';
import type { AppScope } from '../../kernel/auth/permissions.ts';
import type { AppPrincipal } from '../../kernel/context.ts';
import type { Database, Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import { findKeyForAuthentication, touchApplicationKey } from './apps.queries.ts';
import { setBounded } from '../../kernel/bounded-map.ts';

/**
 * Application keys (FR-SYS-002): `tsv_app_<prefix>_<secret>`. The prefix (12 characters) is public
 * and finds the key; the secret is 32 random bytes (base64url) and is stored only as its SHA-256.
 *
 * Why SHA-256 and not Argon2 as for passwords: a slow hash protects secrets people choose, which
 * can be guessed from a stolen hash. A 256-bit random secret cannot be guessed from its SHA-256
 * however fast the hash is, and a slow hash would only cost CPU on every request.
 */
export const APP_KEYS_CHANNEL = 'tsv_app_keys';

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_LENGTH = 12;
const KEY_FORMAT = /^tsv_app_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** Last use is written at most this often per key and node (and per key overall, see touchApplicationKey). */
const TOUCH_INTERVAL_MS = 60_000;
/** One answer for every failure, so that a caller learns nothing about which part was wrong. */
const INVALID_KEY = 'A valid application key is required.';

export interface NewAppKey {
  prefix: string;
  /** The whole key, given to the caller once. */
  key: string;
  secretHash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newAppKey(): NewAppKey {
  let prefix = '';
  for (let i = 0; i < PREFIX_LENGTH; i++) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const secret = randomBytes(32).toString('base64url');
  return { prefix, key: `tsv_app_${prefix}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseAppKey(raw: string | null): { prefix: string; secret: string } | null {
  const match = raw ? KEY_FORMAT.exec(raw) : null;
  return match ? { prefix: match[1]!, secret: match[2]! } : null;
}

/** The key from `X-API-Key`, else from `Authorization: Bearer`. */
function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header.trim();
  const authorization = request.headers.authorization;
  return authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : null;
}

/** What changed, for the caches of every node. */
export type AppKeyChange = { kind: 'key'; id: string } | { kind: 'app'; id: string } | { kind: 'all' };

export function encodeAppKeyChange(change: AppKeyChange): string {
  return change.kind === 'all' ? 'all' : `${change.kind}:${change.id}`;
}

export function decodeAppKeyChange(payload: string): AppKeyChange {
  const [kind, id] = payload.split(':', 2);
  if ((kind === 'key' || kind === 'app') && id) return { kind, id };
  // Anything unexpected clears everything: never keep a key we cannot account for.
  return { kind: 'all' };
}

/** Announces a change inside the transaction that makes it: every node hears it when it commits. */
export async function announceAppKeyChange(tx: Tx, change: AppKeyChange): Promise<void> {
  await sql`select pg_notify(${APP_KEYS_CHANNEL}, ${encodeAppKeyChange(change)})`.execute(tx);
}

interface CachedKey {
  keyId: string;
  appId: string;
  secretHash: Buffer;
  scopes: readonly string[];
  tenantIds: readonly string[] | null;
  expiresAt: number | null;
  /** Not revoked and its application active, when read. */
  usable: boolean;
  freshUntil: number;
  lastUsedAt: number;
}

/**
 * Authenticates managed applications on `app:<scope>` routes. Keys seen moments ago are answered
 * from a per-node cache; revoking a key or disabling an application sends a NOTIFY that evicts
 * them on every node at once, and the short TTL is the backstop if a notification is lost.
 */
export class AppKeyVerifier {
  readonly #entries = new Map<string, CachedKey>();
  readonly #watchers = new Set<(change: AppKeyChange) => void>();

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** Sets `request.ctx.app`, or throws 401 (no valid key) or 403 (the key lacks the scope). */
  async authenticate(request: FastifyRequest, scope: AppScope): Promise<void> {
    const presented = parseAppKey(presentedKey(request));
    const entry = presented ? await this.#find(presented.prefix) : null;
    const now = Date.now();
    const valid =
      presented !== null &&
      entry !== null &&
      timingSafeEqual(entry.secretHash, Buffer.from(hashSecret(presented.secret), 'hex')) &&
      entry.usable &&
      (entry.expiresAt === null || entry.expiresAt > now);
    if (!valid) throw new AppError('unauthorized', INVALID_KEY);

    const app: AppPrincipal = { appId: entry.appId, keyId: entry.keyId, scopes: entry.scopes, tenantIds: entry.tenantIds };
    request.ctx.app = app;
    request.ctx.log = request.ctx.log.child({ appId: app.appId, keyId: app.keyId });
    this.#touch(entry, now);
    if (!entry.scopes.includes(scope)) {
      await recordSecurityEvent(this.db, request.ctx, {
        tenantId: null,
        action: 'security.permission_denied',
        severity: 'low',
        metadata: { scope, app_id: app.appId, route: request.routeOptions.url, method: request.method },
      });
      throw new AppError('forbidden', `This application key lacks the scope ${scope}.`);
    }
  }

  apply(change: AppKeyChange): void {
    if (change.kind === 'all') this.#entries.clear();
    else {
      for (const [prefix, entry] of this.#entries) {
        if ((change.kind === 'key' ? entry.keyId : entry.appId) === change.id) this.#entries.delete(prefix);
      }
    }
    for (const watcher of this.#watchers) watcher(change);
  }

  /**
   * Calls `onRevoked` once the principal's key is revoked or its application disabled (checked
   * again on every change that may concern it); long-lived streams end then. Returns the unwatch.
   */
  watch(request: FastifyRequest, scope: AppScope, onRevoked: () => void): () => void {
    const app = request.ctx.app!;
    const watcher = (change: AppKeyChange) => {
      const concerned = change.kind === 'all' ? true : change.id === (change.kind === 'key' ? app.keyId : app.appId);
      if (!concerned) return;
      this.authenticate(request, scope).catch(() => {
        this.#watchers.delete(watcher);
        onRevoked();
      });
    };
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  get size(): number {
    return this.#entries.size;
  }

  async #find(prefix: string): Promise<CachedKey | null> {
    const now = Date.now();
    const cached = this.#entries.get(prefix);
    if (cached && cached.freshUntil > now) return cached;
    const row = await this.db.withPlatform((tx) => findKeyForAuthentication(tx, prefix));
    if (!row) {
      this.#entries.delete(prefix);
      return null;
    }
    const entry: CachedKey = {
      keyId: row.id,
      appId: row.app_id,
      secretHash: Buffer.from(row.secret_hash, 'hex'),
      scopes: row.scopes,
      tenantIds: row.tenant_ids,
      expiresAt: row.expires_at ? row.expires_at.getTime() : null,
      usable: row.revoked_at === null && row.app_status === 'active',
      freshUntil: now + this.ttlMs,
      lastUsedAt: row.last_used_at ? row.last_used_at.getTime() : 0,
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
      .withPlatform((tx) => touchApplicationKey(tx, entry.keyId))
      .catch((error: unknown) => this.log.warn({ err: error, keyId: entry.keyId }, 'could not record the last use of an application key'));
  }
}

/** Whether the calling application's key may act for the tenant. */
export function appMayActFor(app: AppPrincipal, tenantId: string): boolean {
  return app.tenantIds === null || app.tenantIds.includes(tenantId);
}
