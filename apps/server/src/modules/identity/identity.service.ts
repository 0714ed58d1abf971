import { createHash, randomBytes } from 'node:crypto';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { enterTenantContext, isUuid, type Tx } from '../../kernel/db/database.ts';
import type { UserRole } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Platform } from '../../platform.ts';
import {
  claimRefreshToken,
  findRefreshToken,
  findUserByEmail,
  findUserWithTenant,
  insertRefreshToken,
  insertSession,
  revokeSession,
} from './identity.queries.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

const PLATFORM_PREFIX = 'platform';
/** FR-AUTH-008: sessions of administrators end sooner. */
const ADMIN_SESSION_SECONDS = 4 * 3600;
const ADMIN_ROLES: UserRole[] = ['owner', 'admin', 'operator'];

/** NFKC and lower case: one spelling of an address, whatever the keyboard sent. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Refresh tokens are opaque to clients but name their tenant (or the platform), so the token can
 * be looked up inside the right tenant context before anyone is authenticated.
 */
function newRefreshToken(tenantId: string | null) {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${tenantId ?? PLATFORM_PREFIX}.${secret}`, hash: sha256(secret) };
}

function parseRefreshToken(token: string): { tenantId: string | null; hash: string } | null {
  const [scope, secret, extra] = token.split('.');
  if (!scope || !secret || extra !== undefined || secret.length < 40) return null;
  if (scope !== PLATFORM_PREFIX && !isUuid(scope)) return null;
  return { tenantId: scope === PLATFORM_PREFIX ? null : scope, hash: sha256(secret) };
}

export function createIdentityService(platform: Platform) {
  const { db, config, tokens, passwords, sessions } = platform;
  const inScope = <T>(tenantId: string | null, fn: (tx: Tx) => Promise<T>) =>
    tenantId ? db.withTenant(tenantId, fn) : db.withPlatform(fn);

  /**
   * Stores a new refresh token in the transaction and returns the signing of the pair, to run after
   * commit: no row lock (the audit chain head) is held while the access token is signed.
   */
  async function grantTokens(
    tx: Tx,
    user: { id: string; tenant_id: string | null; role: UserRole },
    sessionId: string,
    sessionExpiresAt: Date,
    amr: string[],
  ): Promise<() => Promise<TokenPair>> {
    const refresh = newRefreshToken(user.tenant_id);
    const refreshExpiry = new Date(Math.min(Date.now() + config.refreshTokenTtlSeconds * 1000, sessionExpiresAt.getTime()));
    await insertRefreshToken(tx, { tenant_id: user.tenant_id, session_id: sessionId, token_hash: refresh.hash, expires_at: refreshExpiry });
    return async () => {
      const access = await tokens.issue({ sub: user.id, tenant_id: user.tenant_id, roles: [user.role], sid: sessionId, amr });
      return { access_token: access.token, refresh_token: refresh.token, token_type: 'Bearer', expires_in: access.expiresIn };
    };
  }

  const invalid = () => new AppError('invalid-credentials', 'The email, password or organization is not correct.');

  return {
    /**
     * Email and password login (FR-AUTH-001). Unknown tenant, unknown user, wrong password and a
     * disabled account all give the same answer after the same amount of hashing work.
     */
    async login(ctx: RequestContext, input: { email: string; password: string; tenant?: string | undefined }): Promise<TokenPair> {
      const email = normalizeEmail(input.email);
      // CAUTION: one platform transaction resolves the slug, then enters that tenant to find the
      // user: the only read of the platform plane made before anyone is authenticated.
      const found = await db.withPlatform(async (tx) => {
        if (input.tenant === undefined) return { tenant: null, user: await findUserByEmail(tx, email) };
        const tenant = await tx.selectFrom('tenants').select(['id', 'status']).where('slug', '=', input.tenant.toLowerCase()).executeTakeFirst();
        if (!tenant) return undefined;
        await enterTenantContext(tx, tenant.id);
        return { tenant, user: await findUserByEmail(tx, email) };
      });
      if (!found) {
        await passwords.verify(null, input.password);
        await db.withPlatform((tx) =>
          recordAudit(tx, ctx, { tenantId: null, action: 'auth.login', outcome: 'failure', metadata: { reason: 'unknown_tenant' } }),
        );
        throw invalid();
      }
      const { user } = found;
      const tenantId = found.tenant?.id ?? null;
      const matched = await passwords.verify(user?.password_hash ?? null, input.password);
      if (!user || !matched || user.status !== 'active') {
        await inScope(tenantId, (tx) =>
          recordAudit(tx, ctx, {
            tenantId,
            action: 'auth.login',
            outcome: 'failure',
            resourceType: user ? 'user' : undefined,
            resourceId: user?.id,
            metadata: { reason: !user ? 'unknown_user' : !matched ? 'bad_password' : 'disabled' },
          }),
        );
        throw invalid();
      }
      // A suspension that commits after this check is still caught: the session check on every
      // request refuses sessions of a suspended tenant.
      if (found.tenant && found.tenant.status !== 'active') throw new AppError('tenant-suspended');
      const sign = await inScope(tenantId, async (tx) => {
        const lifetime = ADMIN_ROLES.includes(user.role) ? Math.min(ADMIN_SESSION_SECONDS, config.sessionAbsoluteTtlSeconds) : config.sessionAbsoluteTtlSeconds;
        const amr = ['pwd'];
        const session = await insertSession(tx, {
          tenant_id: tenantId,
          user_id: user.id,
          ip: ctx.ip,
          user_agent: ctx.userAgent,
          expires_at: new Date(Date.now() + lifetime * 1000),
          amr,
        });
        const actorCtx: RequestContext = {
          ...ctx,
          actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles: [user.role], sessionId: session.id, amr },
        };
        await recordAudit(tx, actorCtx, { tenantId, action: 'auth.login', resourceType: 'session', resourceId: session.id });
        return grantTokens(tx, user, session.id, session.expires_at, amr);
      });
      return sign();
    },

    /**
     * Rotates a refresh token (FR-AUTH-005). Presenting a token that was already rotated means it
     * was copied: the whole session is revoked and a security event is recorded.
     */
    async refresh(ctx: RequestContext, refreshToken: string): Promise<TokenPair> {
      const parsed = parseRefreshToken(refreshToken);
      if (!parsed) throw new AppError('unauthorized', 'The refresh token is not valid.');
      const { tenantId } = parsed;
      const outcome = await inScope(tenantId, async (tx) => {
        const found = await findRefreshToken(tx, parsed.hash);
        if (!found) return { error: 'unknown' as const, sign: undefined };
        if (found.status === 'rotated') {
          await revokeSession(tx, found.session_id, 'refresh_token_reuse');
          await announceRevocation(tx, { kind: 'session', id: found.session_id });
          await recordAudit(tx, ctx, {
            tenantId,
            action: 'auth.refresh_reuse',
            category: 'security',
            severity: 'high',
            outcome: 'denied',
            resourceType: 'session',
            resourceId: found.session_id,
          });
          return { error: 'reuse' as const, sessionId: found.session_id, sign: undefined };
        }
        const live =
          found.status === 'active' &&
          found.expires_at.getTime() > Date.now() &&
          found.session_status === 'active' &&
          found.session_expires_at.getTime() > Date.now() &&
          found.user_status === 'active';
        if (!live || !(await claimRefreshToken(tx, found.id))) return { error: 'expired' as const, sign: undefined };
        if (tenantId) {
          const tenant = await tx.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow();
          if (tenant.status !== 'active') return { error: 'expired' as const, sign: undefined };
        }
        const user = { id: found.user_id, tenant_id: tenantId, role: found.role };
        const actorCtx: RequestContext = {
          ...ctx,
          actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles: [user.role], sessionId: found.session_id, amr: found.amr },
        };
        await tx.updateTable('sessions').set({ last_seen_at: new Date() }).where('id', '=', found.session_id).execute();
        await recordAudit(tx, actorCtx, { tenantId, action: 'auth.refresh', resourceType: 'session', resourceId: found.session_id });
        return { error: null, sign: await grantTokens(tx, user, found.session_id, found.session_expires_at, found.amr) };
      });
      if (outcome.sign) return outcome.sign();
      if (outcome.error === 'reuse') sessions.apply({ kind: 'session', id: outcome.sessionId });
      throw new AppError('unauthorized', 'The refresh token is not valid.');
    },

    /** Ends the caller's session everywhere at once. */
    async logout(ctx: RequestContext): Promise<void> {
      const actor = ctx.actor!;
      await withRevocation(sessions, { kind: 'session', id: actor.sessionId }, () =>
        inScope(actor.tenantId, async (tx) => {
          await revokeSession(tx, actor.sessionId, 'logout');
          await announceRevocation(tx, { kind: 'session', id: actor.sessionId });
          await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'auth.logout', resourceType: 'session', resourceId: actor.sessionId });
        }),
      );
    },

    /**
     * Creates a user in the transaction's context (tenant provisioning, seeding). The password is
     * hashed by the caller before the transaction opens, so no connection waits on Argon2.
     */
    async insertUser(
      tx: Tx,
      ctx: RequestContext,
      user: { tenantId: string | null; email: string; name: string; role: UserRole; passwordHash: string | null },
    ): Promise<string> {
      const { id } = await tx
        .insertInto('users')
        .values({ tenant_id: user.tenantId, email: normalizeEmail(user.email), name: user.name, role: user.role, password_hash: user.passwordHash })
        .returning('id')
        .executeTakeFirstOrThrow();
      await recordAudit(tx, ctx, { tenantId: user.tenantId, action: 'user.created', resourceType: 'user', resourceId: id, metadata: { role: user.role } });
      return id;
    },

    async me(ctx: RequestContext) {
      const actor = ctx.actor!;
      const user = await inScope(actor.tenantId, (tx) => findUserWithTenant(tx, actor.userId));
      if (!user) throw new AppError('unauthorized');
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        tenant_id: user.tenant_id,
        tenant_slug: user.tenant_slug,
        roles: [user.role],
        session_id: actor.sessionId,
        amr: actor.amr,
      };
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
