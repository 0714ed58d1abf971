import { hkdfSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { domainToASCII } from 'node:url';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import type { RequestContext, SignedInContext } from '../../kernel/context.ts';
import { createSecretBox } from '../../kernel/crypto/secret-box.ts';
import { mintScopedToken, parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import { enterTenantContext, inPlane, type Tx } from '../../kernel/db/database.ts';
import type { PlatformRoleColumn } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import type { DefaultTenantRole } from '../../kernel/auth/permissions.ts';
import { assignDefaultRole } from '../access/index.ts';
import { findVerificationState } from '../verification/index.ts';
import type { Platform } from '../../kernel/platform.ts';
import { passwordMinimumOf, type IdentityPolicyType } from './identity.policy.ts';
import {
  linkSessionToDevice,
  registerDevice,
  revokeSession,
  sessionLifetimeSeconds,
  touchSessionAtRefresh,
  type DeviceInput,
  type SessionStart,
  type TokenPair,
} from '../sessions/index.ts';
import {
  claimRefreshToken,
  findRefreshToken,
  findSessionExpiry,
  findUserByEmail,
  findUserWithTenant,
  insertRefreshToken,
  insertSession,
} from './identity.queries.ts';
import { lockedOut, loginSource, loginThrottle, type LockoutService } from '../lockout/index.ts';
import { activeFactorKinds, openLoginChallenge } from '../mfa/index.ts';



/** A tenant id no tenant has (tenant ids are random v4 UUIDs): the context of a sign-in to an unknown organization. */
const NO_TENANT = '00000000-0000-4000-8000-000000000000';
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


/**
 * A rotated token keeps its successor for the reuse grace window, sealed under a key derived from
 * the rotated token's own secret, which is never stored: only whoever presents that token opens
 * it, and the database (with SECRETS_KEY) gives no live refresh token away (docs/adr/0010).
 */
const successorBox = (secret: string) => createSecretBox([Buffer.from(hkdfSync('sha256', secret, '', 'tsv refresh token successor', 32))]);
const successorPlace = (tokenId: string) => `refresh_tokens.successor:${tokenId}`;
const sealSuccessor = (secret: string, tokenId: string, successor: string) => successorBox(secret).seal(successor, successorPlace(tokenId));

function openSuccessor(secret: string, tokenId: string, sealed: string): string | null {
  try {
    return successorBox(secret).open(sealed, successorPlace(tokenId));
  } catch {
    return null;
  }
}

type FoundRefreshToken = NonNullable<Awaited<ReturnType<typeof findRefreshToken>>>;
type RefreshOutcome = { sign: () => Promise<TokenPair> } | { error: 'unknown' | 'expired' } | { error: 'reuse'; sessionId: string };

export function createIdentityService(platform: Platform, policy: IdentityPolicyType, lockout: LockoutService) {
  const { clearLoginFailures, countLoginFailure, failureDelayMs, lockedUntil, recordAccountLocked } = lockout;
  const { db, config, tokens, passwords, sessions, throttleKeys } = platform;

  /**
   * The signing of a new access token for the session, paired with its refresh token, to run after
   * commit: no row lock (the audit chain head) is held while the access token is signed.
   */
  function signPair(
    user: { id: string; tenant_id: string | null; roles: string[] },
    sessionId: string,
    amr: string[],
    mfaAt: Date | null,
    refreshToken: string,
  ): () => Promise<TokenPair> {
    return async () => {
      const access = await tokens.issue({
        sub: user.id,
        tenant_id: user.tenant_id,
        roles: user.roles,
        sid: sessionId,
        amr,
        ...(mfaAt ? { mfa_at: Math.floor(mfaAt.getTime() / 1000) } : {}),
      });
      return { access_token: access.token, refresh_token: refreshToken, token_type: 'Bearer', expires_in: access.expiresIn };
    };
  }

  /** Stores a new refresh token in the transaction and returns the signing of the pair (signPair). */
  async function grantTokens(
    tx: Tx,
    user: { id: string; tenant_id: string | null; roles: string[] },
    sessionId: string,
    sessionExpiresAt: Date,
    amr: string[],
    mfaAt: Date | null = null,
    refresh = mintScopedToken(user.tenant_id),
  ): Promise<() => Promise<TokenPair>> {
    const refreshExpiry = new Date(Math.min(Date.now() + config.refreshTokenTtlSeconds * 1000, sessionExpiresAt.getTime()));
    await insertRefreshToken(tx, { tenant_id: user.tenant_id, session_id: sessionId, token_hash: refresh.hash, expires_at: refreshExpiry });
    return signPair(user, sessionId, amr, mfaAt, refresh.token);
  }

  /** The session's user as its tokens name it, and the context its refresh is audited in. */
  function refreshing(ctx: RequestContext, tenantId: string | null, found: FoundRefreshToken) {
    const user = { id: found.user_id, tenant_id: tenantId, roles: found.elevated_role ? [...found.roles, found.elevated_role] : found.roles };
    const actorCtx: RequestContext = {
      ...ctx,
      actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles: user.roles, sessionId: found.session_id, amr: found.amr, grants: NO_GRANTS },
    };
    return { user, actorCtx };
  }

  /**
   * Whether the session of an active token may be renewed now, and if so records the use: the
   * token, session, user and tenant are live, and the session was not left unused past its idle
   * timeout (FR-AUTH-008).
   */
  async function renewable(tx: Tx, ctx: RequestContext, tenantId: string | null, found: FoundRefreshToken): Promise<boolean> {
    const live =
      found.status === 'active' &&
      found.expires_at.getTime() > Date.now() &&
      found.session_status === 'active' &&
      found.session_expires_at.getTime() > Date.now() &&
      found.user_status === 'active' &&
      // FR-RBAC-005: impersonation sessions get no refresh token and are never renewed.
      found.impersonator_id === null;
    if (!live || !(await touchSessionAtRefresh(tx, config, found.session_id, tenantId, ctx.ip))) return false;
    if (!tenantId) return true;
    const tenant = await tx.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow();
    return tenant.status === 'active';
  }

  /**
   * A rotated token presented again. Within the policy's refresh_reuse_grace_seconds of its
   * rotation, while its successor is still the session's current token, this is the client racing itself (two tabs):
   * the answer is that same successor with a fresh access token. Anything else is a copy in other
   * hands: the whole session is revoked and a security event recorded.
   */
  async function answerReplay(tx: Tx, ctx: RequestContext, presented: { tenantId: string | null; secret: string }, found: FoundRefreshToken): Promise<RefreshOutcome> {
    const { tenantId } = presented;
    const withinGrace = found.used_at !== null && Date.now() - found.used_at.getTime() <= policy.refresh_reuse_grace_seconds * 1000;
    const successorToken = withinGrace && found.successor_sealed ? openSuccessor(presented.secret, found.id, found.successor_sealed) : null;
    const successorHash = successorToken ? parseScopedToken(successorToken)?.hash : undefined;
    const successor = successorHash ? await findRefreshToken(tx, successorHash) : undefined;
    if (successorToken && successor?.status === 'active') {
      if (!(await renewable(tx, ctx, tenantId, successor))) return { error: 'expired' };
      const { user, actorCtx } = refreshing(ctx, tenantId, successor);
      await recordAudit(tx, actorCtx, { tenantId, action: 'auth.refresh', resourceType: 'session', resourceId: found.session_id, metadata: { replayed_within_grace: true } });
      return { sign: signPair(user, successor.session_id, successor.amr, successor.mfa_at, successorToken) };
    }
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
    return { error: 'reuse', sessionId: found.session_id };
  }

  /**
   * Opens a session for a user whose sign-in is complete (password, second factor or SSO), in the
   * transaction's context: lifetime by role and tenant policy, the device, the audit events, and a
   * refresh token. Returns the token signing, to run after commit.
   */
  async function openSession(tx: Tx, ctx: RequestContext, start: SessionStart): Promise<() => Promise<TokenPair>> {
    const { tenantId, amr } = start;
    const user = { ...start.user, roles: start.user.roles ?? (await findUserWithTenant(tx, start.user.id))?.roles ?? [] };
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
    /** The product's password minimum (identity.password_*), for every path that sets a password. */
    passwordMinimum: passwordMinimumOf(policy),

    /**
     * Email and password login (FR-AUTH-001). Unknown tenant, unknown user, wrong password and a
     * disabled account all give the same answer after the same amount of hashing work; a source
     * locked out of a login name gets 429, known account or not (FR-AUTH-004, lockout.ts).
     */
    async login(ctx: RequestContext, input: { email: string; password: string; tenant?: string | undefined; device?: DeviceInput | undefined }): Promise<TokenPair> {
      const began = performance.now();
      const email = normalizeEmail(input.email);
      const slug = input.tenant?.toLowerCase();
      // CAUTION: one platform transaction resolves the slug, then enters that tenant to find the
      // user: the only read of the platform plane made before anyone is authenticated.
      const found = await db.withPlatform(async (tx) => {
        const tenant = slug === undefined ? null : await tx.selectFrom('tenants').select(['id', 'status']).where('slug', '=', slug).executeTakeFirst();
        // An unknown slug enters a tenant that does not exist and looks for the user there: the
        // same queries as for a known one, so the answer's timing does not tell the slug exists.
        const contextTenant = tenant === undefined ? NO_TENANT : tenant?.id;
        if (contextTenant) await enterTenantContext(tx, contextTenant);
        const user = await findUserByEmail(tx, email);
        const tenantId = tenant?.id ?? null;
        const source = await loginSource(tx, { tenantId: contextTenant ?? null, userId: user?.id, deviceId: input.device?.id, ip: ctx.ip });
        const throttle = loginThrottle(throttleKeys, { tenant: tenant === undefined ? `slug:${slug}` : tenantId, email, source });
        return { tenant: tenant ?? null, user, throttle, lockedUntil: await lockedUntil(tx, throttle) };
      });
      const { user, throttle } = found;
      const tenantId = found.tenant?.id ?? null;
      const unknownTenant = slug !== undefined && !found.tenant;
      if (found.lockedUntil) {
        await inPlane(db, tenantId, (tx) =>
          recordAudit(tx, ctx, { tenantId, action: 'auth.login', outcome: 'denied', resourceType: user ? 'user' : undefined, resourceId: user?.id, metadata: { reason: 'locked' } }),
        );
        throw lockedOut(found.lockedUntil);
      }
      const matched = await passwords.verify(user?.password_hash ?? null, input.password);
      if (!user || !matched || user.status !== 'active') {
        const failures = await inPlane(db, tenantId, async (tx) => {
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
        // Padded to the uniform answer time, or slowed down further for an account under attack;
        // capped below the request timeout: a timeout would answer differently from a wrong password.
        const padding = policy.login_failure_answer_ms - (performance.now() - began);
        await sleep(Math.min(Math.max(failureDelayMs(failures, policy.login_failure_delay_ms), padding, 0), config.requestTimeoutMs / 2));
        throw invalid();
      }
      // A suspension that commits after this check is still caught: the session check on every
      // request refuses sessions of a suspended tenant.
      if (found.tenant && found.tenant.status !== 'active') throw new AppError('tenant-suspended');
      const outcome = await inPlane(db, tenantId, async (tx) => {
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
     * Rotates a refresh token (FR-AUTH-005). The token just rotated, presented again within the
     * grace window, answers the same successor (answerReplay); any other rotated token means it was
     * copied: the whole session is revoked and a security event is recorded.
     */
    async refresh(ctx: RequestContext, refreshToken: string): Promise<TokenPair> {
      const parsed = parseScopedToken(refreshToken);
      if (!parsed) throw new AppError('unauthorized', 'The refresh token is not valid.');
      const { tenantId } = parsed;
      const outcome = await inPlane(db, tenantId, async (tx): Promise<RefreshOutcome> => {
        const found = await findRefreshToken(tx, parsed.hash);
        if (!found) return { error: 'unknown' };
        if (found.status === 'rotated') return answerReplay(tx, ctx, parsed, found);
        if (!(await renewable(tx, ctx, tenantId, found))) return { error: 'expired' };
        const successor = mintScopedToken(tenantId);
        if (!(await claimRefreshToken(tx, found.id, sealSuccessor(parsed.secret, found.id, successor.token)))) {
          // Another request rotated it since it was read (the other tab): now it is a replay.
          const rotated = await findRefreshToken(tx, parsed.hash);
          return rotated?.status === 'rotated' ? answerReplay(tx, ctx, parsed, rotated) : { error: 'expired' };
        }
        const { user, actorCtx } = refreshing(ctx, tenantId, found);
        await recordAudit(tx, actorCtx, { tenantId, action: 'auth.refresh', resourceType: 'session', resourceId: found.session_id });
        return { sign: await grantTokens(tx, user, found.session_id, found.session_expires_at, found.amr, found.mfa_at, successor) };
      });
      if ('sign' in outcome) return outcome.sign();
      if (outcome.error === 'reuse') sessions.apply({ kind: 'session', id: outcome.sessionId });
      throw new AppError('unauthorized', 'The refresh token is not valid.');
    },

    openSession,

    /**
     * Records a second factor proven in the caller's session (FR-AUTH-014 step-up), in the
     * transaction's context: the session's amr and mfa_at, and a new token pair in place of the
     * session's refresh tokens. Returns the token signing, to run after commit.
     */
    async stepUpSession(tx: Tx, ctx: SignedInContext, amr: string[], mfaAt: Date): Promise<() => Promise<TokenPair>> {
      const actor = ctx.actor;
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
    async logout(ctx: SignedInContext): Promise<void> {
      const actor = ctx.actor;
      await withRevocation(sessions, { kind: 'session', id: actor.sessionId }, () =>
        inPlane(db, actor.tenantId, async (tx) => {
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

    async me(ctx: SignedInContext) {
      const actor = ctx.actor;
      const impersonatorId = actor.impersonatorId ?? null;
      const { user, session, factors, verification } = await inPlane(db, actor.tenantId, async (tx) => ({
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
