import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { domainToASCII } from 'node:url';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { enterTenantContext, isUuid, type Tx } from '../../kernel/db/database.ts';
import type { PlatformRoleColumn } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import type { DefaultTenantRole } from '../../kernel/auth/permissions.ts';
import { assignDefaultRole } from '../access/index.ts';
import { findVerificationState } from '../verification/index.ts';
import type { Platform } from '../../platform.ts';
import { linkSessionToDevice, registerDevice, sessionLifetimeSeconds, touchSessionAtRefresh, type DeviceInput } from '../sessions/sessions.service.ts';
import {
  claimRefreshToken,
  findRefreshToken,
  findSessionExpiry,
  findUserByEmail,
  findUserWithTenant,
  insertRefreshToken,
  insertSession,
  revokeSession,
} from './identity.queries.ts';
import { clearLoginFailures, countLoginFailure, failureDelayMs, lockedOut, lockedUntil, loginSource, loginThrottle, recordAccountLocked } from './lockout.ts';
import { activeFactorKinds, openLoginChallenge } from '../mfa/index.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
  device_id?: string;
}

/** A completed sign-in, as openSession takes it. */
export interface SessionStart {
  user: { id: string; email: string; tenant_id: string | null; roles: string[] };
  tenantId: string | null;
  /** RFC 8176 methods proven in this sign-in: pwd, otp, hwk, mfa, fed… */
  amr: string[];
  /** Recorded with auth.login: password, mfa, sso. */
  method: string;
  device?: DeviceInput | undefined;
  /** FR-RBAC-006: what made this an elevated (Super Admin) session, e.g. an identity provider's group. */
  elevatedBy?: string | null;
  /** When a second factor was proven in this sign-in (FR-AUTH-014: the session's mfa_at). */
  mfaAt?: Date | null;
}

const PLATFORM_PREFIX = 'platform';
/** FR-AUTH-008: sessions of administrators end sooner (SESSION_ADMIN_TTL_SECONDS). */
const ADMIN_ROLES = new Set(['owner', 'admin', 'operator', 'support', 'auditor']);
const NO_GRANTS = new Map();

/**
 * One spelling of an address, whatever the keyboard sent: NFKC (fullwidth and compatibility forms),
 * lower case, and the domain in its IDNA ASCII form, so a look-alike spelling of an address finds
 * the same account or none, and never another one.
 */
export function normalizeEmail(email: string): string {
  const folded = email.normalize('NFKC').trim().toLowerCase();
  const at = folded.lastIndexOf('@');
  if (at < 0) return folded;
  const domain = folded.slice(at + 1);
  // domainToASCII answers '' for a domain IDNA refuses; such an address keeps its folded domain.
  return `${folded.slice(0, at)}@${domainToASCII(domain) || domain}`;
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

/**
 * Ends every session of one user, in the transaction's tenant context (role change, disable,
 * delete, password change or reset), but `keepSessionId` if given, and announces it: every node
 * drops the user's cached sessions when the transaction commits. The caller evicts its own node's
 * cache at once with withRevocation.
 */
export async function revokeUserSessions(tx: Tx, userId: string, reason: string, keepSessionId?: string): Promise<void> {
  let sessionsOfUser = tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('status', '=', 'active');
  if (keepSessionId) sessionsOfUser = sessionsOfUser.where('id', '!=', keepSessionId);
  const revoked = await sessionsOfUser.returning('id').execute();
  if (revoked.length > 0) {
    await tx
      .updateTable('refresh_tokens')
      .set({ status: 'revoked' })
      .where('session_id', 'in', revoked.map((session) => session.id))
      .where('status', '=', 'active')
      .execute();
  }
  await announceRevocation(tx, { kind: 'user', id: userId });
}

export function createIdentityService(platform: Platform) {
  const { db, config, tokens, passwords, sessions, throttleKeys } = platform;
  const inScope = <T>(tenantId: string | null, fn: (tx: Tx) => Promise<T>) =>
    tenantId ? db.withTenant(tenantId, fn) : db.withPlatform(fn);

  /**
   * Stores a new refresh token in the transaction and returns the signing of the pair, to run after
   * commit: no row lock (the audit chain head) is held while the access token is signed.
   */
  async function grantTokens(
    tx: Tx,
    user: { id: string; tenant_id: string | null; roles: string[] },
    sessionId: string,
    sessionExpiresAt: Date,
    amr: string[],
    mfaAt: Date | null = null,
  ): Promise<() => Promise<TokenPair>> {
    const refresh = newRefreshToken(user.tenant_id);
    const refreshExpiry = new Date(Math.min(Date.now() + config.refreshTokenTtlSeconds * 1000, sessionExpiresAt.getTime()));
    await insertRefreshToken(tx, { tenant_id: user.tenant_id, session_id: sessionId, token_hash: refresh.hash, expires_at: refreshExpiry });
    return async () => {
      const access = await tokens.issue({
        sub: user.id,
        tenant_id: user.tenant_id,
        roles: user.roles,
        sid: sessionId,
        amr,
        ...(mfaAt ? { mfa_at: Math.floor(mfaAt.getTime() / 1000) } : {}),
      });
      return { access_token: access.token, refresh_token: refresh.token, token_type: 'Bearer', expires_in: access.expiresIn };
    };
  }

  /**
   * Opens a session for a user whose sign-in is complete (password, second factor or SSO), in the
   * transaction's context: lifetime by role and tenant policy, the device, the audit events, and a
   * refresh token. Returns the token signing, to run after commit.
   */
  async function openSession(tx: Tx, ctx: RequestContext, start: SessionStart): Promise<() => Promise<TokenPair>> {
    const { user, tenantId, amr } = start;
    const lifetime = await sessionLifetimeSeconds(tx, config, tenantId, user.roles.some((role) => ADMIN_ROLES.has(role)));
    // FR-AUTH-008: tenant users sign in from a registered device; a new one is recorded.
    const device = tenantId ? await registerDevice(tx, { tenantId, userId: user.id, ip: ctx.ip, device: start.device }) : null;
    // FR-RBAC-006: the staging allow-list (empty in any other environment) elevates this operator
    // session, never the user; the token names the role so every request is audited.
    const allowListed = tenantId === null && config.superAdminEmails.includes(user.email);
    const elevated = start.elevatedBy ?? (allowListed ? 'staging_allow_list' : null);
    const roles = elevated ? [...user.roles, 'super_admin'] : user.roles;
    const session = await insertSession(tx, {
      tenant_id: tenantId,
      user_id: user.id,
      ip: ctx.ip,
      user_agent: ctx.userAgent,
      expires_at: new Date(Date.now() + lifetime * 1000),
      amr,
      elevated_role: elevated ? 'super_admin' : null,
      mfa_at: start.mfaAt ?? null,
    });
    if (device) await linkSessionToDevice(tx, session.id, device);
    const actorCtx: RequestContext = {
      ...ctx,
      actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles, sessionId: session.id, amr, grants: NO_GRANTS },
    };
    await recordAudit(tx, actorCtx, { tenantId, action: 'auth.login', resourceType: 'session', resourceId: session.id, metadata: { method: start.method, amr } });
    if (device?.isNew) {
      await recordAudit(tx, actorCtx, {
        tenantId,
        action: 'auth.new_device',
        resourceType: 'device',
        resourceId: device.id,
        metadata: { session_id: session.id, os: start.device?.os ?? null, app_version: start.device?.app_version ?? null },
      });
    }
    if (elevated) {
      await recordAudit(tx, actorCtx, {
        tenantId: null,
        action: 'security.super_admin_granted',
        category: 'security',
        severity: 'high',
        resourceType: 'session',
        resourceId: session.id,
        metadata: { source: elevated },
      });
    }
    const signTokens = await grantTokens(tx, { ...user, roles }, session.id, session.expires_at, amr, start.mfaAt ?? null);
    return async () => ({ ...(await signTokens()), ...(device ? { device_id: device.id } : {}) });
  }

  const invalid = () => new AppError('invalid-credentials', 'The email, password or organization is not correct.');

  return {
    /**
     * Email and password login (FR-AUTH-001). Unknown tenant, unknown user, wrong password and a
     * disabled account all give the same answer after the same amount of hashing work; a source
     * locked out of a login name gets 429, known account or not (FR-AUTH-004, lockout.ts).
     */
    async login(ctx: RequestContext, input: { email: string; password: string; tenant?: string | undefined; device?: DeviceInput | undefined }): Promise<TokenPair> {
      const email = normalizeEmail(input.email);
      const slug = input.tenant?.toLowerCase();
      // CAUTION: one platform transaction resolves the slug, then enters that tenant to find the
      // user: the only read of the platform plane made before anyone is authenticated.
      const found = await db.withPlatform(async (tx) => {
        const tenant = slug === undefined ? null : await tx.selectFrom('tenants').select(['id', 'status']).where('slug', '=', slug).executeTakeFirst();
        if (tenant) await enterTenantContext(tx, tenant.id);
        const user = tenant === undefined ? undefined : await findUserByEmail(tx, email);
        const tenantId = tenant?.id ?? null;
        const source = await loginSource(tx, { tenantId, userId: user?.id, deviceId: input.device?.id, ip: ctx.ip });
        const throttle = loginThrottle(throttleKeys, { tenant: tenant === undefined ? `slug:${slug}` : tenantId, email, source });
        return { tenant: tenant ?? null, user, throttle, lockedUntil: await lockedUntil(tx, throttle) };
      });
      const { user, throttle } = found;
      const tenantId = found.tenant?.id ?? null;
      const unknownTenant = slug !== undefined && !found.tenant;
      if (found.lockedUntil) {
        await inScope(tenantId, (tx) =>
          recordAudit(tx, ctx, { tenantId, action: 'auth.login', outcome: 'denied', resourceType: user ? 'user' : undefined, resourceId: user?.id, metadata: { reason: 'locked' } }),
        );
        throw lockedOut(found.lockedUntil);
      }
      const matched = await passwords.verify(user?.password_hash ?? null, input.password);
      if (!user || !matched || user.status !== 'active') {
        const failures = await inScope(tenantId, async (tx) => {
          const counted = await countLoginFailure(tx, throttle);
          await recordAudit(tx, ctx, {
            tenantId,
            action: 'auth.login',
            outcome: 'failure',
            resourceType: user ? 'user' : undefined,
            resourceId: user?.id,
            metadata: { reason: unknownTenant ? 'unknown_tenant' : !user ? 'unknown_user' : !matched ? 'bad_password' : 'disabled' },
          });
          if (counted.lockedNow) await recordAccountLocked(tx, ctx, { tenantId, userId: user?.id, failures: counted.failures });
          return counted.accountFailures;
        });
        // Capped below the request timeout: a timeout would answer differently from a wrong password.
        await sleep(Math.min(failureDelayMs(failures, config.loginFailureDelayMs), config.requestTimeoutMs / 2));
        throw invalid();
      }
      // A suspension that commits after this check is still caught: the session check on every
      // request refuses sessions of a suspended tenant.
      if (found.tenant && found.tenant.status !== 'active') throw new AppError('tenant-suspended');
      const outcome = await inScope(tenantId, async (tx) => {
        // ERR-AUTH-461: with a second factor due, the failures stay counted until it is proven.
        const challenge = await openLoginChallenge(tx, ctx, config, { user, tenantId, device: input.device });
        if (challenge) return { challenge };
        await clearLoginFailures(tx, throttle);
        return { sign: await openSession(tx, ctx, { user, tenantId, amr: ['pwd'], method: 'password', device: input.device }) };
      });
      if (outcome.challenge) throw new AppError('mfa-required', 'Prove a second factor to finish signing in: POST /v1/auth/mfa/verify.', { ...outcome.challenge });
      return outcome.sign();
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
          found.user_status === 'active' &&
          // FR-RBAC-005: impersonation sessions get no refresh token and are never renewed.
          found.impersonator_id === null;
        // FR-AUTH-008: a session left unused past its idle timeout is not renewed.
        const renewable = live && (await touchSessionAtRefresh(tx, config, found.session_id, tenantId, ctx.ip));
        if (!renewable || !(await claimRefreshToken(tx, found.id))) return { error: 'expired' as const, sign: undefined };
        if (tenantId) {
          const tenant = await tx.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow();
          if (tenant.status !== 'active') return { error: 'expired' as const, sign: undefined };
        }
        const user = { id: found.user_id, tenant_id: tenantId, roles: found.elevated_role ? [...found.roles, found.elevated_role] : found.roles };
        const actorCtx: RequestContext = {
          ...ctx,
          actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles: user.roles, sessionId: found.session_id, amr: found.amr, grants: NO_GRANTS },
        };
        await recordAudit(tx, actorCtx, { tenantId, action: 'auth.refresh', resourceType: 'session', resourceId: found.session_id });
        return { error: null, sign: await grantTokens(tx, user, found.session_id, found.session_expires_at, found.amr, found.mfa_at) };
      });
      if (outcome.sign) return outcome.sign();
      if (outcome.error === 'reuse') sessions.apply({ kind: 'session', id: outcome.sessionId });
      throw new AppError('unauthorized', 'The refresh token is not valid.');
    },

    openSession,

    /**
     * Records a second factor proven in the caller's session (FR-AUTH-014 step-up), in the
     * transaction's context: the session's amr and mfa_at, and a new token pair in place of the
     * session's refresh tokens. Returns the token signing, to run after commit.
     */
    async stepUpSession(tx: Tx, ctx: RequestContext, amr: string[], mfaAt: Date): Promise<() => Promise<TokenPair>> {
      const actor = ctx.actor!;
      const session = await tx
        .updateTable('sessions')
        .set({ amr, mfa_at: mfaAt })
        .where('id', '=', actor.sessionId)
        .where('status', '=', 'active')
        .returning('expires_at')
        .executeTakeFirst();
      if (!session) throw new AppError('unauthorized', 'The session has ended.');
      await tx.updateTable('refresh_tokens').set({ status: 'revoked' }).where('session_id', '=', actor.sessionId).where('status', '=', 'active').execute();
      return grantTokens(tx, { id: actor.userId, tenant_id: actor.tenantId, roles: actor.roles }, actor.sessionId, session.expires_at, amr, mfaAt);
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
     * Creates a user in the transaction's context (tenant provisioning, seeding, invitations): a
     * tenant user with a default role held tenant-wide (or none yet, to be assigned in a unit), or
     * platform staff with a platform role. The
     * password is hashed by the caller before the transaction opens, so no connection waits on Argon2.
     */
    async insertUser(
      tx: Tx,
      ctx: RequestContext,
      user: { email: string; name: string; passwordHash: string | null } & (
        | { tenantId: string; role: DefaultTenantRole | null }
        | { tenantId: null; role: PlatformRoleColumn }
      ),
    ): Promise<string> {
      const { id } = await tx
        .insertInto('users')
        .values({
          tenant_id: user.tenantId,
          email: normalizeEmail(user.email),
          name: user.name,
          platform_role: user.tenantId === null ? user.role : null,
          password_hash: user.passwordHash,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (user.tenantId !== null && user.role !== null) await assignDefaultRole(tx, user.tenantId, id, user.role);
      await recordAudit(tx, ctx, { tenantId: user.tenantId, action: 'user.created', resourceType: 'user', resourceId: id, metadata: { role: user.role } });
      return id;
    },

    async me(ctx: RequestContext) {
      const actor = ctx.actor!;
      const impersonatorId = actor.impersonatorId ?? null;
      const { user, session, factors, verification } = await inScope(actor.tenantId, async (tx) => ({
        user: await findUserWithTenant(tx, actor.userId),
        session: impersonatorId ? await findSessionExpiry(tx, actor.sessionId) : undefined,
        factors: await activeFactorKinds(tx, actor.userId),
        // FR-VER-001, FR-VER-002: the console shows the verification banner from these.
        verification: await findVerificationState(tx, actor.userId, actor.tenantId !== null),
      }));
      if (!user) throw new AppError('unauthorized');
      // FR-RBAC-005: the console shows a banner naming the staff member; staff live in the platform plane.
      const staff = impersonatorId ? await db.withPlatform((tx) => findUserWithTenant(tx, impersonatorId)) : undefined;
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        tenant_id: user.tenant_id,
        tenant_slug: user.tenant_slug,
        roles: user.roles,
        permissions: [...actor.grants.keys()].sort(),
        session_id: actor.sessionId,
        amr: actor.amr,
        mfa_enrolled: factors.length > 0,
        mfa_factors: factors,
        impersonator: impersonatorId ? { id: impersonatorId, ...(staff ? { email: staff.email } : {}) } : null,
        impersonation_expires_at: session ? session.expires_at.toISOString() : null,
        ...verification,
      };
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
