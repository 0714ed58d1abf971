import { createHash } from 'node:crypto';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation } from '../../kernel/auth/revocation.ts';
import type { Config } from '../../kernel/config.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import { inPlane, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Platform } from '../../kernel/platform.ts';
import {
  activeSessionIdsOnDevice,
  deviceIdTaken,
  findActiveSession,
  findSessionActivity,
  findTenantSessionPolicy,
  findUser,
  findUserDevice,
  insertDevice,
  listActiveSessions,
  listDevices,
  markDeviceRevoked,
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

/** A completed sign-in, as openSession takes it. */
export interface SessionStart {
  /** Its roles, when the caller has read them already; otherwise they are read. */
  user: { id: string; email: string; tenant_id: string | null; roles?: string[] };
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

/**
 * Opening sessions, as the sign-in steps that finish elsewhere use it (a second factor proven,
 * step-up): identity implements it.
 */
export interface SessionOpener {
  /** Opens the session in the transaction; returns the token signing, to run after commit. */
  openSession(tx: Tx, ctx: RequestContext, start: SessionStart): Promise<() => Promise<TokenPair>>;
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
export async function registerDevice(
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
export async function linkSessionToDevice(tx: Tx, sessionId: string, device: { id: string; isNew: boolean }): Promise<void> {
  await tx.updateTable('sessions').set({ device_id: device.id, new_device: device.isNew }).where('id', '=', sessionId).execute();
}

/** The absolute lifetime of a new session: the environment's, shortened by the tenant's policy. */
export async function sessionLifetimeSeconds(tx: Tx, config: Config, tenantId: string | null, admin: boolean): Promise<number> {
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
export async function touchSessionAtRefresh(tx: Tx, config: Config, sessionId: string, tenantId: string | null, ip: string | null): Promise<boolean> {
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

export function createSessionsService(platform: Platform) {
  const { db, config, sessions: cache } = platform;
  const inScope = <T>(ctx: SignedInContext, fn: (tx: Tx) => Promise<T>) => inPlane(db, ctx.actor.tenantId, fn);

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
        if (!(await findUser(tx, userId))) throw new AppError('not-found', 'No such user.');
        return present(await listActiveSessions(tx, userId), ctx.actor.sessionId);
      });
    },

    async revokeUserSession(ctx: SignedInContext, userId: string, sessionId: string) {
      await db.withTenant(ctx, (tx) => revokeOne(ctx, tx, userId, sessionId, 'revoked_by_admin'));
      evict([sessionId]);
    },

    async revokeAllUserSessions(ctx: SignedInContext, userId: string) {
      await db.withTenant(ctx, async (tx) => {
        if (!(await findUser(tx, userId))) throw new AppError('not-found', 'No such user.');
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
