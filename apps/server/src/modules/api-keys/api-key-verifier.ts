import { sql } from 'kysely';
import { isPermission, tenantGrants, type Grants, type Permission, type Reach } from '../../kernel/auth/permissions.ts';
import type { SessionRevocation } from '../../kernel/auth/session-cache.ts';
import type { Actor } from '../../kernel/context.ts';
import type { Database, Tx } from '../../kernel/db/database.ts';
import type { Logger } from '../../kernel/log.ts';
import { KeyVerifier, prefixedKeyFormat, type StoredKey } from '../../kernel/crypto/prefixed-key.ts';
import { findKeyForAuthentication, findTenantOfPrefix, touchApiKey } from './api-keys.queries.ts';

/** Tenant API keys: `tsv_key_<prefix>_<secret>` (kernel/crypto/prefixed-key.ts). */
export const API_KEY = prefixedKeyFormat('key');
export const API_KEYS_CHANNEL = 'tsv_api_keys';

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

interface TenantKey extends StoredKey {
  tenantId: string;
  createdBy: string;
  grants: Grants;
}

/**
 * Authenticates tenant API keys for the guard. A revocation or rotation (channel tsv_api_keys) and
 * any change to the tenant's roles or the creator's sessions (channel tsv_sessions) evict the
 * node's cached keys at once (kernel KeyVerifier).
 */
export class ApiKeyVerifier {
  readonly #keys: KeyVerifier<TenantKey>;

  constructor(db: Database, log: Logger, ttlMs = 30_000) {
    this.#keys = new KeyVerifier<TenantKey>({
      format: API_KEY,
      log,
      ttlMs,
      async load(prefix) {
        const owner = await db.withPlatform((tx) => findTenantOfPrefix(tx, prefix));
        const row = owner ? await db.withWholeTenant(owner.tenant_id, (tx) => findKeyForAuthentication(tx, prefix)) : undefined;
        if (!owner || !row) return null;
        return {
          keyId: row.id,
          tenantId: owner.tenant_id,
          createdBy: row.created_by,
          secretHash: row.secret_hash,
          grants: keyGrants(row.scopes, tenantGrants((row.assignments ?? []).map((a) => ({ roleKey: a.k, permissions: a.p, unitId: a.u })))),
          expiresAt: row.expires_at ? new Date(row.expires_at) : null,
          lastUsedAt: null,
          usable: row.revoked_at === null && row.creator_status === 'active' && row.tenant_status === 'active',
        };
      },
      recordUse: (key) => db.withWholeTenant(key.tenantId, (tx) => touchApiKey(tx, key.keyId)),
    });
  }

  /** The actor of a valid, live key; null for anything else (one answer for every failure). */
  async authenticate(raw: string): Promise<Actor | null> {
    const key = await this.#keys.verify(raw);
    if (!key) return null;
    return {
      type: 'api_key',
      userId: key.keyId,
      tenantId: key.tenantId,
      roles: [],
      sessionId: `api-key:${key.keyId}`,
      amr: ['key'],
      grants: key.grants,
      impersonatorId: null,
    };
  }

  /** Evicts a changed key (`key:<id>` on tsv_api_keys), or everything on an unexpected payload. */
  applyKeyChange(payload: string): void {
    const [kind, id] = payload.split(':', 2);
    if (kind !== 'key' || !id) return this.#keys.clear();
    this.#keys.evict((key) => key.keyId === id);
  }

  /** Follows tsv_sessions: a tenant's roles changed, a tenant suspended or a creator's sessions ended. */
  applySessionChange(change: SessionRevocation): void {
    if (change.kind === 'session') return;
    if (change.kind === 'all') return this.#keys.clear();
    this.#keys.evict((key) => (change.kind === 'user' ? key.createdBy : key.tenantId) === change.id);
  }

  clear(): void {
    this.#keys.clear();
  }

  get size(): number {
    return this.#keys.size;
  }
}
