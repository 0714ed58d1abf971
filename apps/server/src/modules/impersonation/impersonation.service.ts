import { randomUUID } from 'node:crypto';
import { recordAudit, recordSecurityEvent } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import { IMPERSONATION_MINUTES } from '../../kernel/auth/tokens.ts';
import type { RequestContext, SignedInContext } from '../../kernel/context.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, encodeCursor } from '../../kernel/paging.ts';
import type { Platform } from '../../kernel/platform.ts';
import { rolesOfUser } from '../access/index.ts';
import { findTenantById } from '../tenancy/index.ts';
import { findLiveImpersonationSession, findRevokedImpersonationSessions, findStaffSession, insertImpersonationSession, revokeImpersonationSession } from '../sessions/index.ts';
import { findImpersonation, insertImpersonation, listImpersonations, markImpersonationEnded } from './impersonation.queries.ts';
import type { ImpersonationView, ListImpersonationsQueryType, StartImpersonationInput } from './impersonation.schemas.ts';

type ImpersonationRow = Awaited<ReturnType<typeof listImpersonations>>[number];

function view(row: ImpersonationRow, sessionEndedAt: Date | undefined, now: number): ImpersonationView {
  const endedAt = row.ended_at ?? sessionEndedAt ?? null;
  return {
    id: row.id,
    impersonator_id: row.impersonator_id,
    impersonator_email: row.impersonator_email,
    tenant_id: row.target_tenant_id,
    user_id: row.target_user_id,
    reason: row.reason,
    ticket_id: row.ticket_id,
    status: endedAt ? 'ended' : row.expires_at.getTime() <= now ? 'expired' : 'active',
    started_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    ended_at: endedAt ? endedAt.toISOString() : null,
    ended_by: row.ended_by,
  };
}

/**
 * Impersonation with safeguards (FR-RBAC-005): platform Support (or Super Admin) acts as a tenant
 * user for at most 30 minutes, with a reason. The session lives in the tenant and names its
 * impersonator; its token carries both identities (`act`); it has no refresh token. The platform
 * plane keeps its own record in `impersonations`, written in the same transaction.
 */
export function createImpersonationService(platform: Platform) {
  const { db, tokens, sessions, users } = platform;

  return {
    async start(ctx: SignedInContext, input: StartImpersonationInput) {
      const actor = ctx.actor;
      // Only a platform session starts one: a tenant token never holds platform.impersonate, and an
      // impersonation session (a tenant session) can therefore never start another.
      if (actor.tenantId !== null || actor.impersonatorId) throw new AppError('forbidden', 'An impersonation cannot be started from this session.');
      const reason = input.reason.trim();
      if (reason.length < 10) throw new AppError('validation', 'Give the reason in at least 10 characters.');
      const ticketId = input.ticket_id ?? null;
      const sessionId = randomUUID();
      const metadata = { user_id: input.user_id, tenant_id: input.tenant_id, reason, ticket_id: ticketId };

      const started = await db.withPlatform(async (tx, transaction) => {
        const own = await findStaffSession(tx, actor.sessionId);
        if (!own || own.status !== 'active') throw new AppError('unauthorized', 'The session has ended.');
        if ((await users.findById(tx, input.user_id))?.tenant_id === null) return null;
        const tenant = await findTenantById(tx, input.tenant_id);
        if (!tenant) throw new AppError('not-found', 'No such organization.');
        if (tenant.status !== 'active') throw new AppError('tenant-suspended');
        // Never longer than 30 minutes, nor than the staff member's own session.
        const startedAt = new Date();
        const expiresAt = new Date(Math.min(startedAt.getTime() + IMPERSONATION_MINUTES * 60_000, own.expires_at.getTime()));
        const event = { action: 'impersonation.started' as const, severity: 'high' as const, resourceType: 'user', resourceId: input.user_id };
        await insertImpersonation(tx, {
          id: sessionId,
          impersonator_id: actor.userId,
          target_tenant_id: tenant.id,
          target_user_id: input.user_id,
          reason,
          ticket_id: ticketId,
          created_at: startedAt,
          expires_at: expiresAt,
        });
        await recordAudit(tx, ctx, { ...event, tenantId: null, metadata: { ...metadata, session_id: sessionId, expires_at: expiresAt.toISOString() } });

        // CAUTION: from here on the transaction runs as the app role in the target tenant.
        await transaction.continueInTenant(tenant.id);
        const target = await users.findById(tx, input.user_id);
        if (!target) throw new AppError('not-found', 'No such user in that organization.');
        if (target.status !== 'active') throw new AppError('conflict', 'The user is not active.');
        const live = await findLiveImpersonationSession(tx, actor.userId, target.id);
        if (live) throw new AppError('impersonation-active', 'End the active impersonation of this user first.', { impersonation_id: live.id });
        await insertImpersonationSession(tx, {
          id: sessionId,
          tenant_id: tenant.id,
          user_id: target.id,
          impersonator_id: actor.userId,
          impersonation_reason: reason,
          expires_at: expiresAt,
          amr: own.amr,
          ip: ctx.ip,
          user_agent: ctx.userAgent,
        });
        // The tenant's own chain: its administrators see who acted as whom, when and why.
        await recordAudit(tx, ctx, { ...event, tenantId: tenant.id, metadata: { ...metadata, session_id: sessionId, expires_at: expiresAt.toISOString() } });
        const roles = (await rolesOfUser(tx, target.id)).map((role) => role.key ?? role.name);
        return { expiresAt, roles, amr: own.amr };
      });

      if (!started) {
        await recordSecurityEvent(db, ctx, {
          tenantId: null,
          action: 'impersonation.started',
          severity: 'medium',
          resourceType: 'user',
          resourceId: input.user_id,
          metadata: { ...metadata, refused: 'target_is_platform_staff' },
        });
        throw new AppError('cannot-impersonate-staff', 'Platform staff cannot be impersonated.');
      }
      const access = await tokens.issue(
        { sub: input.user_id, tenant_id: input.tenant_id, roles: started.roles, sid: sessionId, amr: started.amr, act: { sub: actor.userId } },
        { expiresAt: started.expiresAt },
      );
      return { access_token: access.token, token_type: 'Bearer' as const, expires_at: started.expiresAt.toISOString(), session_id: sessionId };
    },

    /** Ends an impersonation at once on every node; ending one that is over already changes nothing. */
    async end(ctx: SignedInContext, id: string): Promise<void> {
      const actor = ctx.actor;
      await withRevocation(sessions, { kind: 'session', id }, () =>
        db.withPlatform(async (tx, transaction) => {
          const row = await findImpersonation(tx, id);
          if (!row) throw new AppError('not-found');
          if (row.expires_at.getTime() <= Date.now() || !(await markImpersonationEnded(tx, id, actor.userId))) return;
          const event = {
            action: 'impersonation.ended' as const,
            resourceType: 'user',
            resourceId: row.target_user_id,
            metadata: { session_id: id, user_id: row.target_user_id, tenant_id: row.target_tenant_id, impersonator_id: row.impersonator_id },
          };
          await recordAudit(tx, ctx, { ...event, tenantId: null });
          // CAUTION: from here on the transaction runs as the app role in the impersonated tenant.
          await transaction.continueInTenant(row.target_tenant_id);
          await revokeImpersonationSession(tx, id, 'impersonation_ended');
          await announceRevocation(tx, { kind: 'session', id });
          await recordAudit(tx, ctx, { ...event, tenantId: row.target_tenant_id });
        }),
      );
    },

    async list(_ctx: RequestContext, query: ListImpersonationsQueryType) {
      const limit = query.limit ?? 50;
      const fetched = await db.withPlatform((tx) => listImpersonations(tx, { limit, before: decodeCursor(query.cursor), tenantId: query.tenant_id }));
      const more = fetched.length > limit;
      const rows = more ? fetched.slice(0, limit) : fetched;
      const now = Date.now();
      // An impersonation may also end from its own session (sign out). That session row, in the
      // tenant, is the truth for the ones that look live here: read only those, by id.
      const live = rows.filter((row) => !row.ended_at && row.expires_at.getTime() > now);
      const endedFromSession = new Map<string, Date>();
      for (const tenantId of new Set(live.map((row) => row.target_tenant_id))) {
        const ids = live.filter((row) => row.target_tenant_id === tenantId).map((row) => row.id);
        const revoked = await db.withWholeTenant(tenantId, (tx) => findRevokedImpersonationSessions(tx, ids));
        for (const session of revoked) endedFromSession.set(session.id, session.revoked_at ?? new Date(now));
      }
      return {
        items: rows.map((row) => view(row, endedFromSession.get(row.id), now)),
        next_cursor: more ? encodeCursor(rows.at(-1)!) : null,
      };
    },
  };
}

export type ImpersonationService = ReturnType<typeof createImpersonationService>;
