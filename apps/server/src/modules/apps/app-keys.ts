import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { recordSecurityEvent } from '../../kernel/audit/audit.ts';
import type { AppScope } from '../../kernel/auth/permissions.ts';
import type { AppPrincipal } from '../../kernel/context.ts';
import type { Database, Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import { findKeyForAuthentication, touchApplicationKey } from './apps.queries.ts';
import { KeyVerifier, prefixedKeyFormat, type StoredKey } from '../../kernel/crypto/prefixed-key.ts';

/** Application keys (FR-SYS-002): `tsv_app_<prefix>_<secret>` (kernel/crypto/prefixed-key.ts). */
export const APP_KEY = prefixedKeyFormat('app');
export const APP_KEYS_CHANNEL = 'tsv_app_keys';

/** One answer for every failure, so that a caller learns nothing about which part was wrong. */
const INVALID_KEY = 'A valid application key is required.';

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

interface ApplicationKey extends StoredKey {
  appId: string;
  scopes: readonly string[];
  tenantIds: readonly string[] | null;
}

/**
 * Authenticates managed applications on `app:<scope>` routes. Revoking a key or disabling an
 * application sends a NOTIFY that evicts the node's cached keys at once (kernel KeyVerifier).
 */
export class AppKeyVerifier {
  readonly #keys: KeyVerifier<ApplicationKey>;
  readonly #watchers = new Set<(change: AppKeyChange) => void>();

  constructor(
    private readonly db: Database,
    log: Logger,
    ttlMs = 30_000,
  ) {
    this.#keys = new KeyVerifier<ApplicationKey>({
      format: APP_KEY,
      log,
      ttlMs,
      async load(prefix) {
        const row = await db.withPlatform((tx) => findKeyForAuthentication(tx, prefix));
        if (!row) return null;
        return {
          keyId: row.id,
          appId: row.app_id,
          secretHash: row.secret_hash,
          scopes: row.scopes,
          tenantIds: row.tenant_ids,
          expiresAt: row.expires_at,
          lastUsedAt: row.last_used_at,
          usable: row.revoked_at === null && row.app_status === 'active',
        };
      },
      recordUse: (key) => db.withPlatform((tx) => touchApplicationKey(tx, key.keyId)),
    });
  }

  /** Sets `request.ctx.app`, or throws 401 (no valid key) or 403 (the key lacks the scope). */
  async authenticate(request: FastifyRequest, scope: AppScope): Promise<void> {
    const key = await this.#keys.verify(presentedKey(request));
    if (!key) throw new AppError('unauthorized', INVALID_KEY);
    const app: AppPrincipal = { appId: key.appId, keyId: key.keyId, scopes: key.scopes, tenantIds: key.tenantIds };
    request.ctx.app = app;
    request.ctx.log = request.ctx.log.child({ appId: app.appId, keyId: app.keyId });
    if (!key.scopes.includes(scope)) {
      await recordSecurityEvent(this.db, request.ctx, {
        tenantId: null,
        action: 'security.permission_denied',
        severity: 'low',
        metadata: { scope, app_id: app.appId, route: request.routeOptions.url, method: request.method },
      });
      throw new AppError('forbidden', `This application key lacks the scope ${scope}.`);
    }
  }

  /** Evicts what a change concerns on this node, and tells the streams that watch. */
  apply(change: AppKeyChange): void {
    if (change.kind === 'all') this.#keys.clear();
    else this.#keys.evict((key) => (change.kind === 'key' ? key.keyId : key.appId) === change.id);
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
    return this.#keys.size;
  }
}

/** Whether the calling application's key may act for the tenant. */
export function appMayActFor(app: AppPrincipal, tenantId: string): boolean {
  return app.tenantIds === null || app.tenantIds.includes(tenantId);
}
