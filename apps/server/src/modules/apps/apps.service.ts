import { recordAudit } from '../../kernel/audit/audit.ts';
import type { AppScope } from '../../kernel/auth/permissions.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { Platform } from '../../kernel/platform.ts';
import { announceAppKeyChange, APP_KEY, type AppKeyChange, type AppKeyVerifier } from './app-keys.ts';
import {
  findApplicationById,
  findApplicationKey,
  insertApplication,
  insertApplicationKey,
  listApplicationKeys,
  listApplications,
  revokeApplicationKey,
  setApplicationStatus,
} from './apps.queries.ts';
import type { IssueKeyInput, ListApplicationsQueryType, RegisterApplicationInput } from './apps.schemas.ts';

type KeyRow = Awaited<ReturnType<typeof listApplicationKeys>>[number];

function keyView(row: KeyRow, now = Date.now()) {
  const status: 'active' | 'revoked' | 'expired' = row.revoked_at ? 'revoked' : row.expires_at && row.expires_at.getTime() <= now ? 'expired' : 'active';
  // The database constrains scopes to APP_SCOPES.
  return { ...withIsoDates(row), scopes: row.scopes as AppScope[], status };
}

/**
 * Managed applications (FR-SYS-001..003), platform plane: registration, keys shown once and stored
 * hashed, revocation and disabling that reach every node at once.
 */
export function createAppsService(platform: Pick<Platform, 'db' | 'tenants'>, appKeys: AppKeyVerifier) {
  const { db, tenants } = platform;

  async function requireApplication(tx: Tx, id: string) {
    const app = await findApplicationById(tx, id);
    if (!app) throw new AppError('not-found');
    return app;
  }

  /** Runs a change that invalidates keys, then evicts them on this node without waiting for the echo. */
  async function invalidating<T>(change: AppKeyChange, fn: () => Promise<T>): Promise<T> {
    const result = await fn();
    appKeys.apply(change);
    return result;
  }

  async function setStatus(ctx: RequestContext, id: string, status: 'active' | 'disabled') {
    const row = await invalidating({ kind: 'app', id }, () =>
      db.withPlatform(async (tx) => {
        const current = await requireApplication(tx, id);
        if (current.status === status) return current;
        const updated = (await setApplicationStatus(tx, id, status))!;
        await announceAppKeyChange(tx, { kind: 'app', id });
        await recordAudit(tx, ctx, {
          tenantId: null,
          action: status === 'disabled' ? 'application.disabled' : 'application.enabled',
          resourceType: 'application',
          resourceId: id,
        });
        return updated;
      }),
    );
    return withIsoDates(row);
  }

  async function registerIn(tx: Tx, ctx: RequestContext, input: RegisterApplicationInput) {
    const created = await insertApplication(tx, { name: input.name, environment: input.environment, owner: input.owner.toLowerCase() });
    await recordAudit(tx, ctx, {
      tenantId: null,
      action: 'application.registered',
      resourceType: 'application',
      resourceId: created.id,
      metadata: { name: created.name, environment: created.environment, owner: created.owner },
    });
    return created;
  }

  async function issueKeyIn(tx: Tx, ctx: RequestContext, appId: string, input: IssueKeyInput) {
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new AppError('validation', 'expires_at must be in the future.', { errors: [{ path: 'body/expires_at', message: 'must be in the future' }] });
    }
    const tenantIds = input.tenant_ids ?? null;
    if (tenantIds) {
      const known = new Set(await tenants.existing(tx, tenantIds));
      const unknown = tenantIds.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new AppError('validation', 'Some tenant_ids name no tenant.', {
          errors: unknown.map((id) => ({ path: `body/tenant_ids/${tenantIds.indexOf(id)}`, message: 'names no tenant' })),
        });
      }
    }
    const generated = APP_KEY.mint();
    const created = await insertApplicationKey(tx, {
      app_id: appId,
      prefix: generated.prefix,
      secret_hash: generated.secretHash,
      scopes: input.scopes,
      tenant_ids: tenantIds,
      expires_at: expiresAt,
    });
    await recordAudit(tx, ctx, {
      tenantId: null,
      action: 'application.key_issued',
      resourceType: 'application_key',
      resourceId: created.id,
      metadata: { app_id: appId, prefix: created.prefix, scopes: created.scopes, tenant_ids: created.tenant_ids, expires_at: expiresAt?.toISOString() ?? null },
    });
    return { ...keyView(created), secret: generated.key };
  }

  return {
    /** This node's cache of application keys: streams end on it when their key is revoked. */
    keys: appKeys,

    async register(ctx: RequestContext, input: RegisterApplicationInput) {
      return withIsoDates(await db.withPlatform((tx) => registerIn(tx, ctx, input)));
    },

    /** Registration with its first key in one transaction (the app:register command). */
    async registerWithKey(ctx: RequestContext, input: RegisterApplicationInput, key: IssueKeyInput) {
      return db.withPlatform(async (tx) => {
        const application = await registerIn(tx, ctx, input);
        return { application: withIsoDates(application), key: await issueKeyIn(tx, ctx, application.id, key) };
      });
    },

    async list(_ctx: RequestContext, query: ListApplicationsQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withPlatform((tx) => listApplications(tx, { limit, after: decodeCursor(query.cursor), status: query.status }));
      return toPage(rows, limit, withIsoDates);
    },

    async get(_ctx: RequestContext, id: string) {
      return withIsoDates(await db.withPlatform((tx) => requireApplication(tx, id)));
    },

    /** FR-SYS-003: every key of the application stops working on every node at once. */
    disable: (ctx: RequestContext, id: string) => setStatus(ctx, id, 'disabled'),
    enable: (ctx: RequestContext, id: string) => setStatus(ctx, id, 'active'),

    /**
     * FR-SYS-002: a new key; the secret is in this answer only. Rotation is issuing a new key while
     * the old one stays valid until it is revoked or expires.
     */
    async issueKey(ctx: RequestContext, appId: string, input: IssueKeyInput) {
      return db.withPlatform(async (tx) => {
        await requireApplication(tx, appId);
        return issueKeyIn(tx, ctx, appId, input);
      });
    },

    async listKeys(_ctx: RequestContext, appId: string) {
      const rows = await db.withPlatform(async (tx) => {
        await requireApplication(tx, appId);
        return listApplicationKeys(tx, appId);
      });
      const now = Date.now();
      return { items: rows.map((row) => keyView(row, now)) };
    },

    /** Revoking a revoked key again changes nothing; a key of another application is not found. */
    async revokeKey(ctx: RequestContext, appId: string, keyId: string) {
      await invalidating({ kind: 'key', id: keyId }, () =>
        db.withPlatform(async (tx) => {
          const revoked = await revokeApplicationKey(tx, appId, keyId);
          if (!revoked) {
            if (!(await findApplicationKey(tx, appId, keyId))) throw new AppError('not-found');
            return;
          }
          await announceAppKeyChange(tx, { kind: 'key', id: keyId });
          await recordAudit(tx, ctx, {
            tenantId: null,
            action: 'application.key_revoked',
            resourceType: 'application_key',
            resourceId: keyId,
            metadata: { app_id: appId, prefix: revoked.prefix },
          });
        }),
      );
    },
  };
}

export type AppsService = ReturnType<typeof createAppsService>;
