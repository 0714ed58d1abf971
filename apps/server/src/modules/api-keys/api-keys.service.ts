import { recordAudit } from '../../kernel/audit/audit.ts';
import { isPermission, planeOf } from '../../kernel/auth/permissions.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { Platform } from '../../kernel/platform.ts';
import { announceApiKeyChange, API_KEY } from './api-key-verifier.ts';
import { endRotatedKey, findApiKey, insertApiKey, listApiKeys, revokeApiKey } from './api-keys.queries.ts';
import { DEFAULT_OVERLAP_SECONDS, type CreateApiKeyInput, type RotateApiKeyInput } from './api-keys.schemas.ts';

/** The signed-in user managing keys: a key cannot create, rotate or revoke keys itself. */
function managingUser(ctx: SignedInContext): string {
  if (ctx.actor.type !== 'user') throw new AppError('forbidden', 'API keys are managed by signed-in users only.');
  return ctx.actor.userId;
}

/** A key never carries more than its creator holds tenant-wide (403 naming what is missing). */
function assertGrantable(ctx: SignedInContext, scopes: readonly string[]): void {
  const unknown = scopes.filter((scope) => !isPermission(scope) || planeOf(scope) !== 'tenant');
  if (unknown.length > 0) throw new AppError('validation', `Unknown tenant permissions: ${unknown.join(', ')}.`);
  const missing = scopes.filter((scope) => ctx.actor.grants.get(scope as never) !== 'all');
  if (missing.length > 0) throw new AppError('forbidden', `You do not hold these permissions organization-wide: ${missing.join(', ')}.`);
}

export function createApiKeysService(platform: Platform) {
  const { db } = platform;

  async function issue(tx: Tx, tenantId: string, values: { name: string; scopes: string[]; expires_at: Date | null; created_by: string }) {
    const key = API_KEY.mint();
    const row = await insertApiKey(tx, { tenant_id: tenantId, prefix: key.prefix, secret_hash: key.secretHash, ...values });
    return { ...withIsoDates(row), secret: key.key };
  }

  return {
    async list(ctx: RequestContext) {
      const rows = await db.withTenant(ctx, (tx) => listApiKeys(tx));
      return { items: rows.map(withIsoDates) };
    },

    async create(ctx: SignedInContext, input: CreateApiKeyInput) {
      const userId = managingUser(ctx);
      assertGrantable(ctx, input.scopes);
      const expiresAt = input.expires_at === undefined ? null : new Date(input.expires_at);
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw new AppError('validation', 'expires_at must be in the future.');
      const scope = scopeOf(ctx);
      return db.withTenant(ctx, async (tx) => {
        const issued = await issue(tx, scope.tenantId, { name: input.name, scopes: input.scopes, expires_at: expiresAt, created_by: userId });
        await recordAudit(tx, ctx, {
          tenantId: scope.tenantId,
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: issued.id,
          metadata: { name: input.name, prefix: issued.prefix, scopes: input.scopes, expires_at: issued.expires_at },
        });
        return issued;
      });
    },

    async revoke(ctx: SignedInContext, id: string) {
      const userId = managingUser(ctx);
      const scope = scopeOf(ctx);
      await db.withTenant(ctx, async (tx) => {
        const current = await findApiKey(tx, id);
        if (!current) throw new AppError('not-found');
        if (!(await revokeApiKey(tx, id, userId))) throw new AppError('conflict', 'The key is already revoked.');
        await announceApiKeyChange(tx, id);
        await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'api_key.revoked', resourceType: 'api_key', resourceId: id, metadata: { prefix: current.prefix } });
      });
    },

    /** A new key with the same name and scopes; the old one stays valid for the overlap, then expires. */
    async rotate(ctx: SignedInContext, id: string, input: RotateApiKeyInput) {
      const userId = managingUser(ctx);
      const scope = scopeOf(ctx);
      const overlapSeconds = input.overlap_seconds ?? DEFAULT_OVERLAP_SECONDS;
      return db.withTenant(ctx, async (tx) => {
        const current = await findApiKey(tx, id);
        if (!current) throw new AppError('not-found');
        const now = Date.now();
        if (current.revoked_at || current.replaced_by || (current.expires_at && current.expires_at.getTime() <= now)) {
          throw new AppError('conflict', 'Only a live key that was not rotated before can be rotated.');
        }
        assertGrantable(ctx, current.scopes);
        const issued = await issue(tx, scope.tenantId, { name: current.name, scopes: current.scopes, expires_at: current.expires_at, created_by: userId });
        const oldUntil = new Date(now + overlapSeconds * 1000);
        await endRotatedKey(tx, id, oldUntil, issued.id);
        await announceApiKeyChange(tx, id);
        await recordAudit(tx, ctx, {
          tenantId: scope.tenantId,
          action: 'api_key.rotated',
          resourceType: 'api_key',
          resourceId: id,
          metadata: { new_key_id: issued.id, new_prefix: issued.prefix, old_valid_until: oldUntil.toISOString() },
        });
        return issued;
      });
    },
  };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;
