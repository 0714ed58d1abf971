import { recordAudit } from '../../kernel/audit/audit.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import { mintScopedToken, parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import { isUuid, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import { createNotifier } from '../../kernel/notify/notify.ts';
import type { Platform } from '../../kernel/platform.ts';
import { assertHoldsAll, effectivePermissions, findRole, findUnit, insertAssignment } from '../access/index.ts';
import { normalizeEmail, passwordPolicyIn, unmetPasswordRules, type IdentityService } from '../identity/index.ts';
import { markEmailVerified } from '../verification/index.ts';
import {
  claimInvitation,
  expireLapsedInvitations,
  findInvitation,
  findInvitationSettings,
  findLiveInvitationByEmail,
  findLiveInvitationByToken,
  insertInvitation,
  listInvitations,
  reissueInvitation,
  revokeInvitation,
  setAcceptedUser,
  upsertInvitationSettings,
  type InvitationRow,
} from './invitations.queries.ts';
import { findTenantById } from '../tenancy/index.ts';
import { findUserByEmail } from './users.queries.ts';
import type { UsersPolicyType } from './users.policy.ts';
import {
  type AcceptInvitationInput,
  type CreateInvitationInput,
  type InvitationSettingsInput,
  type InvitationStatusType,
  type ListInvitationsQueryType,
} from './users.schemas.ts';
import { assertTenantWide } from './users.service.ts';

const DAY_MS = 86_400_000;


/** An invitation token names its tenant, never the platform: staff are not invited. */
function parseInvitationToken(token: string): { tenantId: string; hash: string } | null {
  const parsed = parseScopedToken(token);
  return parsed?.tenantId ? { tenantId: parsed.tenantId, hash: parsed.hash } : null;
}

/** Pending past its expiry reads as expired, whether or not that was stored. */
function statusOf(row: InvitationRow, now = Date.now()): InvitationStatusType {
  return row.status === 'pending' && row.expires_at.getTime() <= now ? 'expired' : row.status;
}

function invitationView(row: InvitationRow) {
  return {
    ...row,
    status: statusOf(row),
    expires_at: row.expires_at.toISOString(),
    last_sent_at: row.last_sent_at.toISOString(),
    accepted_at: row.accepted_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The same answer for an unknown, expired, used or revoked token: no hint which. */
const invalidInvitation = () => new AppError('invitation-invalid', 'This invitation link is not valid. Ask for a new invitation.');

/** Invitations to join a tenant (FR-TENANT-001, FR-TENANT-007) and their acceptance. */
export function createInvitationsService(platform: Platform, identity: IdentityService, policy: UsersPolicyType) {
  const { db, jobs, passwords, config } = platform;
  const notifier = createNotifier(jobs);

  /** The organization's own expiry, else the product's. */
  async function expiryDays(tx: Tx): Promise<number> {
    return (await findInvitationSettings(tx))?.expiry_days ?? policy.invitation_expiry_days;
  }

  /**
   * Mails the link of an invitation, in the caller's transaction (held back, never dropped, while
   * the messaging kill switch is tripped). The raw token exists only in this message.
   */
  async function sendLink(tx: Tx, ctx: RequestContext, tenantId: string, invitation: { email: string; expiresAt: Date }, token: string) {
    const tenant = await findTenantById(tx, tenantId);
    const link = `${config.publicUrl}/#/accept-invitation?token=${encodeURIComponent(token)}`;
    await notifier.notify(
      tx,
      {
        channel: 'email',
        tenantId,
        kind: 'invitation',
        to: invitation.email,
        subject: `You are invited to ${tenant?.name ?? 'an organization'}`,
        text: [
          'Hello,',
          '',
          `You are invited to join "${tenant?.name ?? ''}". Open this link to accept and choose your password:`,
          '',
          link,
          '',
          `The link works once and expires on ${invitation.expiresAt.toISOString()}.`,
        ].join('\n'),
      },
      ctx.correlationId,
    );
  }

  async function refuseExistingUser(tx: Tx, email: string) {
    if (await findUserByEmail(tx, email)) throw new AppError('conflict', 'This address belongs to a user of the organization already.');
  }

  return {
    async list(ctx: RequestContext, query: ListInvitationsQueryType) {
      const limit = query.limit ?? 50;
      const { rows, days } = await db.withTenant(ctx, async (tx) => ({
        rows: await listInvitations(tx, { limit, after: decodeCursor(query.cursor), status: query.status }),
        days: await expiryDays(tx),
      }));
      return { ...toPage(rows, limit, invitationView), expiry_days: days };
    },

    /**
     * Invites an address with a role (and unit): the inviter must hold the role's permissions
     * tenant-wide, and the address must not belong to a user of the organization.
     */
    async invite(ctx: RequestContext, input: CreateInvitationInput) {
      assertTenantWide(ctx);
      const scope = scopeOf(ctx);
      const { tenantId } = scope;
      const email = normalizeEmail(input.email);
      const unitId = input.unit_id ?? null;
      const row = await db.withTenant(ctx, async (tx) => {
        const role = await findRole(tx, input.role_id);
        if (!role) throw new AppError('validation', 'The role does not exist.');
        if (unitId && !(await findUnit(tx, unitId))) throw new AppError('validation', 'The unit does not exist.');
        assertHoldsAll(ctx, effectivePermissions(role));
        await refuseExistingUser(tx, email);
        await expireLapsedInvitations(tx, email);
        if (await findLiveInvitationByEmail(tx, email)) {
          throw new AppError('conflict', 'An invitation to this address is pending: resend it instead.');
        }
        const token = mintScopedToken(tenantId);
        const expiresAt = new Date(Date.now() + (await expiryDays(tx)) * DAY_MS);
        const inviter = ctx.actor?.userId;
        const created = await insertInvitation(tx, tenantId, {
          email,
          role_id: role.id,
          unit_id: unitId,
          token_hash: token.hash,
          expires_at: expiresAt,
          invited_by: isUuid(inviter) ? inviter : null,
        });
        await sendLink(tx, ctx, tenantId, { email, expiresAt }, token.token);
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'invitation.created',
          resourceType: 'invitation',
          resourceId: created.id,
          metadata: { email, role_id: role.id, role: role.key ?? role.name, unit_id: unitId, expires_at: expiresAt.toISOString() },
        });
        return created;
      });
      return invitationView(row);
    },

    /** A new link with a new expiry (FR-TENANT-007); the previous link stops working at once. */
    async resend(ctx: RequestContext, id: string) {
      assertTenantWide(ctx);
      const scope = scopeOf(ctx);
      const { tenantId } = scope;
      const row = await db.withTenant(ctx, async (tx) => {
        const invitation = await findInvitation(tx, id);
        if (!invitation) throw new AppError('not-found');
        if (invitation.status === 'accepted' || invitation.status === 'revoked') {
          throw new AppError('conflict', `The invitation was ${invitation.status}; invite the address again instead.`);
        }
        const role = await findRole(tx, invitation.role_id);
        assertHoldsAll(ctx, role ? effectivePermissions(role) : []);
        await refuseExistingUser(tx, invitation.email);
        const token = mintScopedToken(tenantId);
        const expiresAt = new Date(Date.now() + (await expiryDays(tx)) * DAY_MS);
        const reissued = await reissueInvitation(tx, id, { token_hash: token.hash, expires_at: expiresAt });
        if (!reissued) throw new AppError('conflict', 'The invitation changed meanwhile; reload it.');
        await sendLink(tx, ctx, tenantId, { email: invitation.email, expiresAt }, token.token);
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'invitation.resent',
          resourceType: 'invitation',
          resourceId: id,
          metadata: { email: invitation.email, sent_count: reissued.sent_count, expires_at: expiresAt.toISOString() },
        });
        return reissued;
      });
      return invitationView(row);
    },

    /** Withdraws an invitation; its link stops working. Revoking a revoked invitation changes nothing. */
    async revoke(ctx: RequestContext, id: string) {
      assertTenantWide(ctx);
      const scope = scopeOf(ctx);
      await db.withTenant(ctx, async (tx) => {
        const invitation = await findInvitation(tx, id);
        if (!invitation) throw new AppError('not-found');
        if (invitation.status === 'revoked') return;
        if (invitation.status === 'accepted') throw new AppError('conflict', 'The invitation was accepted already; manage the user instead.');
        if (!(await revokeInvitation(tx, id))) throw new AppError('conflict', 'The invitation changed meanwhile; reload it.');
        await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'invitation.revoked', resourceType: 'invitation', resourceId: id, metadata: { email: invitation.email } });
      });
    },

    async updateSettings(ctx: RequestContext, input: InvitationSettingsInput) {
      assertTenantWide(ctx);
      const scope = scopeOf(ctx);
      const inviter = ctx.actor?.userId;
      const row = await db.withTenant(ctx, async (tx) => {
        const updated = await upsertInvitationSettings(tx, scope.tenantId, { expiry_days: input.expiry_days, updated_by: isUuid(inviter) ? inviter : null });
        await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'invitation.settings_updated', resourceType: 'invitation_settings', metadata: { expiry_days: input.expiry_days } });
        return updated;
      });
      return { expiry_days: row.expiry_days, version: row.version, updated_at: row.updated_at.toISOString() };
    },

    /**
     * Accepts an invitation (public: the token is the credential): creates the user with the
     * invited role, marks the invitation used, then signs the new user in. Exactly one of several
     * concurrent accepts of one token succeeds; the others get the invalid-invitation answer.
     */
    async accept(ctx: RequestContext, input: AcceptInvitationInput) {
      const parsed = parseInvitationToken(input.token);
      if (!parsed) throw invalidInvitation();
      const { tenantId, hash } = parsed;
      const found = await db.withWholeTenant(tenantId, async (tx) => {
        const invitation = await findLiveInvitationByToken(tx, hash);
        const tenant = invitation ? await findTenantById(tx, tenantId) : undefined;
        return invitation && tenant ? { ...tenant, email: invitation.email, policy: await passwordPolicyIn(tx, tenantId, identity.passwordMinimum) } : undefined;
      });
      if (!found) throw invalidInvitation();
      if (found.status !== 'active') throw new AppError('tenant-suspended');
      // A new user has no password history yet: the tenant's policy and the user's context apply.
      const unmet = unmetPasswordRules(input.password, found.policy, identity.passwordMinimum, { email: found.email, name: input.name, tenantSlug: found.slug });
      if (unmet.length > 0) throw new AppError('weak-password', 'Choose a password that meets every rule listed in unmet_rules.', { unmet_rules: unmet });
      // Hashed before the transaction opens: no connection waits on Argon2.
      const passwordHash = await passwords.hash(input.password);

      const accepted = await db.withWholeTenant(tenantId, async (tx) => {
        const invitation = await claimInvitation(tx, hash);
        if (!invitation) return null;
        await refuseExistingUser(tx, invitation.email);
        const userId = await identity.insertUser(tx, ctx, { tenantId, email: invitation.email, name: input.name ?? '', passwordHash, role: null });
        // FR-VER-001: the token came by mail to this address, which proves it.
        await markEmailVerified(tx, userId);
        await insertAssignment(tx, tenantId, { user_id: userId, role_id: invitation.role_id, unit_id: invitation.unit_id });
        await setAcceptedUser(tx, invitation.id, userId);
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'invitation.accepted',
          actor: { type: 'user', id: userId },
          resourceType: 'invitation',
          resourceId: invitation.id,
          metadata: { user_id: userId, role_id: invitation.role_id, unit_id: invitation.unit_id, invited_by: invitation.invited_by },
        });
        return { userId, email: invitation.email };
      });
      if (!accepted) throw invalidInvitation();
      // The new user signs in through the one login path (its audit event, session and tokens).
      const tokens = await identity.login(ctx, { email: accepted.email, password: input.password, tenant: found.slug });
      return { user_id: accepted.userId, tenant_id: tenantId, tenant_slug: found.slug, ...tokens };
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;
