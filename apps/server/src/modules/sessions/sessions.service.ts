import { createHash, hkdfSync } from 'node:crypto';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import type { Config } from '../../kernel/config.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import { createSecretBox } from '../../kernel/crypto/secret-box.ts';
import { mintScopedToken, parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import { inPlane, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Platform } from '../../kernel/platform.ts';
import {
  activeSessionIdsOnDevice,
  claimRefreshToken,
  deviceIdTaken,
  findActiveSession,
  findRefreshToken,
  findSessionActivity,
  findTenantSessionPolicy,
  findUserDevice,
  insertDevice,
  insertRefreshToken,
  insertSession,
  listActiveSessions,
  listDevices,
  markDeviceRevoked,
  recordSessionStepUp,
  revokeRefreshTokensOfSession,
  revokeSession,
  touchDevice,
  upsertTenantSessionPolicy,
} from './sessions.queries.ts';

export interface DeviceInput {
  id?: string | undefined;
  os?: string | undefined;
  app_version?: string | undefined;
}

/** The tokens a sign-in, a refresh or a step-up answers with. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
  device_id?: string;
}

/** A completed sign-in, as the sessions service opens it. */
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

/** A completed sign-in as the steps that finish elsewhere hand it over: identity reads the roles when they are left out. */
export type SignInStart = Omit<SessionStart, 'user'> & { user: Omit<SessionStart['user'], 'roles'> & { roles?: string[] } };

/**
 * Opening sessions, as the sign-in steps that finish elsewhere use it (a second factor proven,
 * step-up): identity implements it with the sessions service.
 */
export interface SessionOpener {
  /** Opens the session in the transaction; returns the token signing, to run after commit. */
  openSession(tx: Tx, ctx: RequestContext, start: SignInStart): Promise<() => Promise<TokenPair>>;
  /** Records a second factor proven in the caller's session; returns the new token signing. */
  stepUpSession(tx: Tx, ctx: RequestContext, amr: string[], mfaAt: Date): Promise<() => Promise<TokenPair>>;
}

/**
 * The id under which a client's own device id is stored: a UUIDv8 of the tenant, the user and the
 * client's id, so the same client id names unrelated devices in two tenants or for two users, and
 * whether an id is taken tells nothing about anyone else's devices.
 */
export function namespacedDeviceId(tenantId: string, userId: string, clientId: string): string {
  const bytes = createHash('sha256').update(`${tenantId}\n${userId}\n${clientId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The user's live device a client names: by the device_id an earlier login returned, or by the
 * client's own id (stored namespaced). The same query for an unknown user or tenant.
 */
export function findKnownDevice(tx: Tx, device: { tenantId: string; userId: string; clientId: string }) {
  return findUserDevice(tx, device.userId, [device.clientId, namespacedDeviceId(device.tenantId, device.userId, device.clientId)]);
}

/**
 * Registers the device a tenant user signs in from, in the login transaction: a device the user
 * already has is seen again; any other id (unknown, revoked, or none) makes a new device, under
 * the namespaced id of the client's id so the client can keep sending it.
 */
async function registerDevice(
  tx: Tx,
  input: { tenantId: string; userId: string; ip: string | null; device?: DeviceInput | undefined },
): Promise<{ id: string; isNew: boolean }> {
  const clientId = input.device?.id;
  const seen = { ip: input.ip, os: input.device?.os ?? null, app_version: input.device?.app_version ?? null };
  const known = clientId === undefined ? undefined : await findKnownDevice(tx, { tenantId: input.tenantId, userId: input.userId, clientId });
  if (known) {
    await touchDevice(tx, known.id, seen);
    return { id: known.id, isNew: false };
  }
  // Taken only by a device of this user that was revoked: that id never comes back.
  const namespaced = clientId === undefined ? undefined : namespacedDeviceId(input.tenantId, input.userId, clientId);
  const reuseId = namespaced !== undefined && !(await deviceIdTaken(tx, namespaced));
  const { id } = await insertDevice(tx, { tenant_id: input.tenantId, ...(reuseId ? { id: namespaced } : {}), user_id: input.userId, ...seen });
  return { id, isNew: true };
}

/** Links a new session to its device, noting whether the device was new (MFA can require it). */
async function linkSessionToDevice(tx: Tx, sessionId: string, device: { id: string; isNew: boolean }): Promise<void> {
  await tx.updateTable('sessions').set({ device_id: device.id, new_device: device.isNew }).where('id', '=', sessionId).execute();
}

/** The absolute lifetime of a new session: the environment's, shortened by the tenant's policy. */
async function sessionLifetimeSeconds(tx: Tx, config: Config, tenantId: string | null, admin: boolean): Promise<number> {
  const environment = admin ? Math.min(config.sessionAdminTtlSeconds, config.sessionAbsoluteTtlSeconds) : config.sessionAbsoluteTtlSeconds;
  const tenant = tenantId ? await findTenantSessionPolicy(tx, tenantId) : undefined;
  return Math.min(environment, tenant?.absolute_ttl_seconds ?? environment);
}

/** The idle timeout that applies: the environment's, or the tenant's when shorter. */
export function idleTimeoutSeconds(config: Config, tenantIdleSeconds: number | null | undefined): number {
  return Math.min(config.sessionIdleTimeoutSeconds, tenantIdleSeconds ?? config.sessionIdleTimeoutSeconds);
}

/**
 * At a refresh: whether the session sat unused past its idle timeout (then it is not renewed), and
 * otherwise records the use on the session and its device.
 */
async function touchSessionAtRefresh(tx: Tx, config: Config, sessionId: string, tenantId: string | null, ip: string | null): Promise<boolean> {
  const activity = await findSessionActivity(tx, sessionId, tenantId !== null);
  if (!activity) return false;
  const idleMs = idleTimeoutSeconds(config, activity.tenant_idle_timeout_seconds) * 1000;
  if (Date.now() - activity.last_seen_at.getTime() > idleMs) return false;
  await tx.updateTable('sessions').set({ last_seen_at: new Date() }).where('id', '=', sessionId).execute();
  if (activity.device_id) await touchDevice(tx, activity.device_id, { ip });
  return true;
}

/**
 * Ends every session of one user, in the transaction's tenant context (role change, disable,
 * delete, password change or reset, a second factor removed), but `keepSessionId` if given, and
 * announces it: every node drops the user's cached sessions when the transaction commits. The
 * caller evicts its own node's cache at once with withRevocation. Returns how many sessions ended.
 */
export async function revokeUserSessions(tx: Tx, userId: string, reason: string, keepSessionId?: string): Promise<number> {
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
  return revoked.length;
}

/**
 * What a refresh needs to know of the session's user, whose records identity keeps: read in the
 * refresh's transaction, in its tenant's context.
 */
export interface SessionHolder {
  /** The user's account is active. */
  active: boolean;
  /** The user's tenant is active (always, for platform staff). */
  tenantActive: boolean;
  /** The role names of the token's informative `roles` claim. */
  roles: string[];
}

/** How a refresh reads the session's user (identity's). */
export interface RefreshTerms {
  findHolder: (tx: Tx, userId: string) => Promise<SessionHolder | undefined>;
  /** The product policy's identity.refresh_reuse_grace_seconds. */
  reuseGraceSeconds: number;
}

/** FR-AUTH-008: sessions of administrators end sooner (SESSION_ADMIN_TTL_SECONDS). */
const ADMIN_ROLES = new Set(['owner', 'admin', 'operator', 'support', 'auditor']);
const NO_GRANTS = new Map();

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

export function createSessionsService(platform: Platform) {
  const { db, config, tokens, sessions: cache, users } = platform;
  const inScope = <T>(ctx: SignedInContext, fn: (tx: Tx) => Promise<T>) => inPlane(db, ctx.actor.tenantId, fn);

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
  function refreshing(ctx: RequestContext, tenantId: string | null, found: FoundRefreshToken, holder: SessionHolder) {
    const user = { id: found.user_id, tenant_id: tenantId, roles: found.elevated_role ? [...holder.roles, found.elevated_role] : holder.roles };
    const actorCtx: RequestContext = {
      ...ctx,
      actor: { type: tenantId ? 'user' : 'operator', userId: user.id, tenantId, roles: user.roles, sessionId: found.session_id, amr: found.amr, grants: NO_GRANTS },
    };
    return { user, actorCtx };
  }

  /**
   * The user of an active token's session, if the session may be renewed now, and then records the
   * use: the token, session, user and tenant are live, and the session was not left unused past
   * its idle timeout (FR-AUTH-008).
   */
  async function renewable(tx: Tx, ctx: RequestContext, tenantId: string | null, found: FoundRefreshToken, terms: RefreshTerms): Promise<SessionHolder | null> {
    const live =
      found.status === 'active' &&
      found.expires_at.getTime() > Date.now() &&
      found.session_status === 'active' &&
      found.session_expires_at.getTime() > Date.now() &&
      // FR-RBAC-005: impersonation sessions get no refresh token and are never renewed.
      found.impersonator_id === null;
    const holder = live ? await terms.findHolder(tx, found.user_id) : undefined;
    if (!holder?.active || !(await touchSessionAtRefresh(tx, config, found.session_id, tenantId, ctx.ip))) return null;
    return holder.tenantActive ? holder : null;
  }

  /**
   * A rotated token presented again. Within the policy's refresh_reuse_grace_seconds of its
   * rotation, while its successor is still the session's current token, this is the client racing itself (two tabs):
   * the answer is that same successor with a fresh access token. Anything else is a copy in other
   * hands: the whole session is revoked and a security event recorded.
   */
  async function answerReplay(
    tx: Tx,
    ctx: RequestContext,
    presented: { tenantId: string | null; secret: string },
    found: FoundRefreshToken,
    terms: RefreshTerms,
  ): Promise<RefreshOutcome> {
    const { tenantId } = presented;
    const withinGrace = found.used_at !== null && Date.now() - found.used_at.getTime() <= terms.reuseGraceSeconds * 1000;
    const successorToken = withinGrace && found.successor_sealed ? openSuccessor(presented.secret, found.id, found.successor_sealed) : null;
    const successorHash = successorToken ? parseScopedToken(successorToken)?.hash : undefined;
    const successor = successorHash ? await findRefreshToken(tx, successorHash) : undefined;
    if (successorToken && successor?.status === 'active') {
      const holder = await renewable(tx, ctx, tenantId, successor, terms);
      if (!holder) return { error: 'expired' };
      const { user, actorCtx } = refreshing(ctx, tenantId, successor, holder);
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

  function present(rows: Awaited<ReturnType<typeof listActiveSessions>>, currentId: string | null) {
    const items = rows.map((row) => ({
      id: row.id,
      created_at: row.created_at.toISOString(),
      last_seen_at: row.last_seen_at.toISOString(),
      expires_at: row.expires_at.toISOString(),
      ip: row.ip,
      user_agent: row.user_agent,
      device_id: row.device_id,
      new_device: row.new_device,
      amr: row.amr,
      impersonated: row.impersonator_id !== null,
      current: row.id === currentId,
    }));
    return { items };
  }

  /** Revokes sessions in the transaction and announces each: every node drops them at commit. */
  async function revokeAll(tx: Tx, sessionIds: string[], reason: string) {
    for (const id of sessionIds) {
      await revokeSession(tx, id, reason);
      await announceRevocation(tx, { kind: 'session', id });
    }
  }

  /** Drops the sessions from this node's cache at once, without waiting for the NOTIFY echo. */
  function evict(sessionIds: string[]) {
    for (const id of sessionIds) cache.apply({ kind: 'session', id });
  }

  async function revokeOne(ctx: SignedInContext, tx: Tx, userId: string, sessionId: string, reason: string) {
    const session = await findActiveSession(tx, userId, sessionId);
    if (!session) throw new AppError('not-found', 'No such active session.');
    await revokeAll(tx, [session.id], reason);
    await recordAudit(tx, ctx, {
      tenantId: ctx.actor.tenantId,
      action: 'session.revoked',
      resourceType: 'session',
      resourceId: session.id,
      metadata: { user_id: userId, reason },
    });
  }

  return {
    /**
     * Opens a session for a user whose sign-in is complete (password, second factor or SSO), in the
     * transaction's context: lifetime by role and tenant policy, the device, the audit events, and a
     * refresh token. Returns the token signing, to run after commit.
     */
    async openSession(tx: Tx, ctx: RequestContext, start: SessionStart): Promise<() => Promise<TokenPair>> {
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
    },

    /**
     * Rotates a refresh token (FR-AUTH-005). The token just rotated, presented again within the
     * grace window, answers the same successor (answerReplay); any other rotated token means it was
     * copied: the whole session is revoked and a security event is recorded.
     */
    async refresh(ctx: RequestContext, refreshToken: string, terms: RefreshTerms): Promise<TokenPair> {
      const parsed = parseScopedToken(refreshToken);
      if (!parsed) throw new AppError('unauthorized', 'The refresh token is not valid.');
      const { tenantId } = parsed;
      const outcome = await inPlane(db, tenantId, async (tx): Promise<RefreshOutcome> => {
        const found = await findRefreshToken(tx, parsed.hash);
        if (!found) return { error: 'unknown' };
        if (found.status === 'rotated') return answerReplay(tx, ctx, parsed, found, terms);
        const holder = await renewable(tx, ctx, tenantId, found, terms);
        if (!holder) return { error: 'expired' };
        const successor = mintScopedToken(tenantId);
        if (!(await claimRefreshToken(tx, found.id, sealSuccessor(parsed.secret, found.id, successor.token)))) {
          // Another request rotated it since it was read (the other tab): now it is a replay.
          const rotated = await findRefreshToken(tx, parsed.hash);
          return rotated?.status === 'rotated' ? answerReplay(tx, ctx, parsed, rotated, terms) : { error: 'expired' };
        }
        const { user, actorCtx } = refreshing(ctx, tenantId, found, holder);
        await recordAudit(tx, actorCtx, { tenantId, action: 'auth.refresh', resourceType: 'session', resourceId: found.session_id });
        return { sign: await grantTokens(tx, user, found.session_id, found.session_expires_at, found.amr, found.mfa_at, successor) };
      });
      if ('sign' in outcome) return outcome.sign();
      if (outcome.error === 'reuse') cache.apply({ kind: 'session', id: outcome.sessionId });
      throw new AppError('unauthorized', 'The refresh token is not valid.');
    },

    /**
     * Records a second factor proven in the caller's session (FR-AUTH-014 step-up), in the
     * transaction's context: the session's amr and mfa_at, and a new token pair in place of the
     * session's refresh tokens. Returns the token signing, to run after commit.
     */
    async stepUpSession(tx: Tx, ctx: SignedInContext, amr: string[], mfaAt: Date): Promise<() => Promise<TokenPair>> {
      const actor = ctx.actor;
      const session = await recordSessionStepUp(tx, actor.sessionId, amr, mfaAt);
      if (!session) throw new AppError('unauthorized', 'The session has ended.');
      await revokeRefreshTokensOfSession(tx, actor.sessionId);
      return grantTokens(tx, { id: actor.userId, tenant_id: actor.tenantId, roles: actor.roles }, actor.sessionId, session.expires_at, amr, mfaAt);
    },

    /** Ends the caller's session everywhere at once. */
    async logout(ctx: SignedInContext): Promise<void> {
      const actor = ctx.actor;
      await withRevocation(cache, { kind: 'session', id: actor.sessionId }, () =>
        inPlane(db, actor.tenantId, async (tx) => {
          await revokeSession(tx, actor.sessionId, 'logout');
          await announceRevocation(tx, { kind: 'session', id: actor.sessionId });
          await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'auth.logout', resourceType: 'session', resourceId: actor.sessionId });
        }),
      );
    },

    async listOwnSessions(ctx: SignedInContext) {
      const actor = ctx.actor;
      return present(await inScope(ctx, (tx) => listActiveSessions(tx, actor.userId)), actor.sessionId);
    },

    async revokeOwnSession(ctx: SignedInContext, sessionId: string) {
      await inScope(ctx, (tx) => revokeOne(ctx, tx, ctx.actor.userId, sessionId, 'revoked_by_user'));
      evict([sessionId]);
    },

    async listOwnDevices(ctx: SignedInContext) {
      const actor = ctx.actor;
      if (!actor.tenantId) return { items: [] };
      const rows = await db.withWholeTenant(actor.tenantId, (tx) => listDevices(tx, actor.userId));
      const items = rows.map((row) => ({
        id: row.id,
        os: row.os,
        app_version: row.app_version,
        ip: row.ip,
        first_seen_at: row.first_seen_at.toISOString(),
        last_seen_at: row.last_seen_at.toISOString(),
        active_sessions: row.active_sessions,
      }));
      return { items };
    },

    /** Forgets a device and ends every session opened from it. */
    async revokeOwnDevice(ctx: SignedInContext, deviceId: string) {
      const actor = ctx.actor;
      if (!actor.tenantId) throw new AppError('not-found', 'No such device.');
      const revoked = await db.withWholeTenant(actor.tenantId, async (tx) => {
        if (!(await findUserDevice(tx, actor.userId, deviceId))) throw new AppError('not-found', 'No such device.');
        const ids = (await activeSessionIdsOnDevice(tx, actor.userId, deviceId)).map((row) => row.id);
        await revokeAll(tx, ids, 'device_revoked');
        await markDeviceRevoked(tx, deviceId);
        await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'device.revoked', resourceType: 'device', resourceId: deviceId, metadata: { sessions: ids.length } });
        return ids;
      });
      evict(revoked);
    },

    async listUserSessions(ctx: SignedInContext, userId: string) {
      return db.withTenant(ctx, async (tx) => {
        if (!(await users.findById(tx, userId))) throw new AppError('not-found', 'No such user.');
        return present(await listActiveSessions(tx, userId), ctx.actor.sessionId);
      });
    },

    async revokeUserSession(ctx: SignedInContext, userId: string, sessionId: string) {
      await db.withTenant(ctx, (tx) => revokeOne(ctx, tx, userId, sessionId, 'revoked_by_admin'));
      evict([sessionId]);
    },

    async revokeAllUserSessions(ctx: SignedInContext, userId: string) {
      await db.withTenant(ctx, async (tx) => {
        if (!(await users.findById(tx, userId))) throw new AppError('not-found', 'No such user.');
        await revokeUserSessions(tx, userId, 'revoked_by_admin');
        await recordAudit(tx, ctx, { tenantId: ctx.actor.tenantId, action: 'session.revoked', resourceType: 'user', resourceId: userId, metadata: { all: true } });
      });
      cache.apply({ kind: 'user', id: userId });
    },

    async getPolicy(ctx: RequestContext) {
      const { tenantId } = scopeOf(ctx);
      const tenant = await db.withWholeTenant(tenantId, (tx) => findTenantSessionPolicy(tx, tenantId));
      return describePolicy(config, tenantId, tenant?.idle_timeout_seconds ?? null, tenant?.absolute_ttl_seconds ?? null);
    },

    /** A tenant may only shorten the environment's lifetimes (null: use the environment's). */
    async updatePolicy(ctx: RequestContext, input: { idle_timeout_seconds: number | null; absolute_ttl_seconds: number | null }) {
      const { tenantId } = scopeOf(ctx);
      if (input.idle_timeout_seconds !== null && input.idle_timeout_seconds > config.sessionIdleTimeoutSeconds) {
        throw new AppError('validation', `idle_timeout_seconds may be at most ${config.sessionIdleTimeoutSeconds}.`);
      }
      if (input.absolute_ttl_seconds !== null && input.absolute_ttl_seconds > config.sessionAbsoluteTtlSeconds) {
        throw new AppError('validation', `absolute_ttl_seconds may be at most ${config.sessionAbsoluteTtlSeconds}.`);
      }
      await db.withWholeTenant(tenantId, async (tx) => {
        await upsertTenantSessionPolicy(tx, { tenant_id: tenantId, ...input });
        await recordAudit(tx, ctx, { tenantId, action: 'session_policy.updated', resourceType: 'tenant', resourceId: tenantId, metadata: { ...input } });
        // Every node checks the tenant's cached sessions again, under the new idle timeout.
        await announceRevocation(tx, { kind: 'grants', id: tenantId });
      });
      cache.apply({ kind: 'grants', id: tenantId });
      return describePolicy(config, tenantId, input.idle_timeout_seconds, input.absolute_ttl_seconds);
    },
  };
}

function describePolicy(config: Config, tenantId: string, idle: number | null, absolute: number | null) {
  return {
    tenant_id: tenantId,
    idle_timeout_seconds: idle,
    absolute_ttl_seconds: absolute,
    effective: {
      idle_timeout_seconds: idleTimeoutSeconds(config, idle),
      absolute_ttl_seconds: Math.min(config.sessionAbsoluteTtlSeconds, absolute ?? config.sessionAbsoluteTtlSeconds),
      admin_absolute_ttl_seconds: Math.min(config.sessionAdminTtlSeconds, config.sessionAbsoluteTtlSeconds, absolute ?? config.sessionAbsoluteTtlSeconds),
      refresh_token_ttl_seconds: config.refreshTokenTtlSeconds,
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
