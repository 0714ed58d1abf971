import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';

/** The tenant's own (shorter) session lifetimes, if it set any; read in the tenant's context. */
export function findTenantSessionPolicy(tx: Tx, tenantId: string) {
  return tx
    .selectFrom('tenant_session_policy')
    .select(['idle_timeout_seconds', 'absolute_ttl_seconds'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
}

export function upsertTenantSessionPolicy(tx: Tx, policy: { tenant_id: string; idle_timeout_seconds: number | null; absolute_ttl_seconds: number | null }) {
  return tx
    .insertInto('tenant_session_policy')
    .values(policy)
    .onConflict((conflict) =>
      conflict.column('tenant_id').doUpdateSet({
        idle_timeout_seconds: policy.idle_timeout_seconds,
        absolute_ttl_seconds: policy.absolute_ttl_seconds,
        updated_at: new Date(),
      }),
    )
    .execute();
}

/** A device of the user that was not revoked, by its id or any of several. */
export function findUserDevice(tx: Tx, userId: string, deviceId: string | string[]) {
  return tx
    .selectFrom('devices')
    .select(['id'])
    .where('id', 'in', [deviceId].flat())
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export function insertDevice(tx: Tx, device: { tenant_id: string; id?: string; user_id: string; os: string | null; app_version: string | null; ip: string | null }) {
  return tx.insertInto('devices').values(device).returning('id').executeTakeFirstOrThrow();
}

/** A device id is free when no device (of anyone in the tenant, revoked or not) has it. */
export async function deviceIdTaken(tx: Tx, deviceId: string): Promise<boolean> {
  return (await tx.selectFrom('devices').select('id').where('id', '=', deviceId).executeTakeFirst()) !== undefined;
}

export function touchDevice(tx: Tx, deviceId: string, seen: { ip: string | null; os?: string | null; app_version?: string | null }) {
  return tx
    .updateTable('devices')
    .set({
      last_seen_at: new Date(),
      ip: seen.ip,
      ...(seen.os !== undefined && seen.os !== null ? { os: seen.os } : {}),
      ...(seen.app_version !== undefined && seen.app_version !== null ? { app_version: seen.app_version } : {}),
    })
    .where('id', '=', deviceId)
    .execute();
}

/** When a session was last used, its device and the tenant's idle timeout (for the refresh check). */
export function findSessionActivity(tx: Tx, sessionId: string, tenantScoped: boolean) {
  const idle = tenantScoped
    ? sql<number | null>`(select p.idle_timeout_seconds from tenant_session_policy p where p.tenant_id = sessions.tenant_id)`
    : sql<number | null>`null::integer`;
  return tx
    .selectFrom('sessions')
    .select(['last_seen_at', 'device_id', idle.as('tenant_idle_timeout_seconds')])
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

/** The user's sessions that still stand, newest use first. */
export function listActiveSessions(tx: Tx, userId: string) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_seen_at', 'expires_at', 'ip', 'user_agent', 'device_id', 'new_device', 'amr', 'impersonator_id'])
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .where('expires_at', '>', new Date())
    .orderBy('last_seen_at', 'desc')
    .orderBy('id')
    .limit(500)
    .execute();
}

export function findActiveSession(tx: Tx, userId: string, sessionId: string) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'device_id'])
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

export function activeSessionIdsOnDevice(tx: Tx, userId: string, deviceId: string) {
  return tx
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .where('status', '=', 'active')
    .execute();
}

/** The user's devices that were not revoked, with how many live sessions each has. */
export function listDevices(tx: Tx, userId: string) {
  return tx
    .selectFrom('devices as d')
    .select([
      'd.id',
      'd.os',
      'd.app_version',
      'd.ip',
      'd.first_seen_at',
      'd.last_seen_at',
      sql<number>`(select count(*)::int from sessions s
        where s.tenant_id = d.tenant_id and s.device_id = d.id and s.status = 'active' and s.expires_at > now())`.as('active_sessions'),
    ])
    .where('d.user_id', '=', userId)
    .where('d.revoked_at', 'is', null)
    .orderBy('d.last_seen_at', 'desc')
    .orderBy('d.id')
    .limit(500)
    .execute();
}

export function markDeviceRevoked(tx: Tx, deviceId: string) {
  return tx.updateTable('devices').set({ revoked_at: new Date() }).where('id', '=', deviceId).execute();
}

export async function revokeSession(tx: Tx, sessionId: string, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('status', '=', 'active')
    .execute();
  await revokeRefreshTokensOfSession(tx, sessionId);
}

export async function revokeRefreshTokensOfSession(tx: Tx, sessionId: string) {
  await tx.updateTable('refresh_tokens').set({ status: 'revoked' }).where('session_id', '=', sessionId).where('status', '=', 'active').execute();
}

/** Every session in the current tenant context (suspension). */
export async function revokeAllSessions(tx: Tx, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('status', '=', 'active')
    .execute();
  await tx.updateTable('refresh_tokens').set({ status: 'revoked' }).where('status', '=', 'active').execute();
}

// Sign-in sessions and their refresh tokens ---------------------------------------------------------

export function insertSession(
  tx: Tx,
  session: {
    tenant_id: string | null;
    user_id: string;
    ip: string | null;
    user_agent: string | null;
    expires_at: Date;
    amr: string[];
    elevated_role?: 'super_admin' | null;
    mfa_at?: Date | null;
  },
) {
  return tx.insertInto('sessions').values(session).returning(['id', 'expires_at']).executeTakeFirstOrThrow();
}

/** Records a second factor proven in an active session (step-up); undefined when the session has ended. */
export function recordSessionStepUp(tx: Tx, sessionId: string, amr: string[], mfaAt: Date) {
  return tx.updateTable('sessions').set({ amr, mfa_at: mfaAt }).where('id', '=', sessionId).where('status', '=', 'active').returning('expires_at').executeTakeFirst();
}

/** When a session ends; for the impersonation banner. */
export function findSessionExpiry(tx: Tx, id: string) {
  return tx.selectFrom('sessions').select('expires_at').where('id', '=', id).executeTakeFirst();
}

export function insertRefreshToken(tx: Tx, token: { tenant_id: string | null; session_id: string; token_hash: string; expires_at: Date }) {
  return tx.insertInto('refresh_tokens').values(token).execute();
}

/** A refresh token with its session; its user's facts are identity's. */
export function findRefreshToken(tx: Tx, tokenHash: string) {
  return tx
    .selectFrom('refresh_tokens as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .select([
      'r.id',
      'r.status',
      'r.expires_at',
      'r.used_at',
      'r.successor_sealed',
      'r.session_id',
      's.status as session_status',
      's.expires_at as session_expires_at',
      's.amr',
      's.mfa_at',
      's.impersonator_id',
      's.elevated_role',
      's.user_id',
    ])
    .where('r.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Marks an active token used, keeping its sealed successor; returns false if another request got there first. */
export async function claimRefreshToken(tx: Tx, id: string, successorSealed: string): Promise<boolean> {
  const result = await tx
    .updateTable('refresh_tokens')
    .set({ status: 'rotated', used_at: new Date(), successor_sealed: successorSealed })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

// Impersonation sessions (modules/impersonation) -----------------------------------------------

/** The caller's own platform session: its end bounds the impersonation, its amr is carried over. */
export function findStaffSession(tx: Tx, sessionId: string) {
  return tx.selectFrom('sessions').select(['expires_at', 'amr', 'status']).where('id', '=', sessionId).where('tenant_id', 'is', null).executeTakeFirst();
}

/** The staff member's live impersonation session of this user, if any. */
export function findLiveImpersonationSession(tx: Tx, impersonatorId: string, userId: string) {
  return tx
    .selectFrom('sessions')
    .select('id')
    .where('impersonator_id', '=', impersonatorId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
}

export function insertImpersonationSession(
  tx: Tx,
  session: {
    id: string;
    tenant_id: string;
    user_id: string;
    impersonator_id: string;
    impersonation_reason: string;
    expires_at: Date;
    amr: string[];
    ip: string | null;
    user_agent: string | null;
  },
) {
  return tx.insertInto('sessions').values(session).execute();
}

/** Ends an impersonation session (it has no refresh tokens to revoke). */
export async function revokeImpersonationSession(tx: Tx, id: string, reason: string) {
  await tx
    .updateTable('sessions')
    .set({ status: 'revoked', revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', id)
    .where('impersonator_id', 'is not', null)
    .where('status', '=', 'active')
    .execute();
}

/** Which of these impersonation sessions were ended from the tenant side (the session's own logout). */
export function findRevokedImpersonationSessions(tx: Tx, ids: string[]) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'revoked_at'])
    .where('id', 'in', ids)
    .where('impersonator_id', 'is not', null)
    .where('status', '=', 'revoked')
    .execute();
}
