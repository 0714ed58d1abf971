import { setTimeout as sleep } from 'node:timers/promises';
import { domainToASCII } from 'node:url';
import { recordAudit } from '../../kernel/audit/audit.ts';
import type { RequestContext, SignedInContext } from '../../kernel/context.ts';
import { inPlane, type Tx } from '../../kernel/db/database.ts';
import type { PlatformRoleColumn } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import type { DefaultTenantRole } from '../../kernel/auth/permissions.ts';
import { assignDefaultRole } from '../access/index.ts';
import { findVerificationState } from '../verification/index.ts';
import type { Platform } from '../../kernel/platform.ts';
import { passwordMinimumOf, type IdentityPolicyType } from './identity.policy.ts';
import { findSessionExpiry, type DeviceInput, type RefreshTerms, type SessionHolder, type SessionsService, type SignInStart, type TokenPair } from '../sessions/index.ts';
import { findUserByEmail, findUserById } from './identity.queries.ts';
import { lockedOut, loginSource, loginThrottle, type LockoutService } from '../lockout/index.ts';
import { activeFactorKinds, openLoginChallenge } from '../mfa/index.ts';

/** A tenant id no tenant has (tenant ids are random v4 UUIDs): the context of a sign-in to an unknown organization. */
const NO_TENANT = '00000000-0000-4000-8000-000000000000';

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
 * Sign-in: the password check, the user, the lockout and the hand-off to a second factor. The
 * session it ends in, its refresh tokens and its end are the sessions module's; identity gives it
 * the user's facts.
 */
export function createIdentityService(platform: Platform, policy: IdentityPolicyType, sessions: SessionsService, lockout: LockoutService) {
  const { clearLoginFailures, countLoginFailure, failureDelayMs, lockedUntil, recordAccountLocked } = lockout;
  const { db, config, passwords, throttleKeys, tenants } = platform;

  /** What a refresh needs of a session's user, in the session's tenant context. */
  async function findHolder(tx: Tx, userId: string): Promise<SessionHolder | undefined> {
    const user = await findUserById(tx, userId);
    if (!user) return undefined;
    const tenant = user.tenant_id === null ? null : await tenants.findById(tx, user.tenant_id);
    return { active: user.status === 'active', tenantActive: tenant === null || tenant?.status === 'active', roles: user.roles };
  }

  /** A user with the slug of its tenant (none for staff). */
  async function findUserWithTenant(tx: Tx, userId: string) {
    const user = await findUserById(tx, userId);
    if (!user) return undefined;
    const tenant = user.tenant_id === null ? undefined : await tenants.findById(tx, user.tenant_id);
    return { ...user, tenant_slug: tenant?.slug ?? null };
  }

  const refreshTerms: RefreshTerms = { findHolder, reuseGraceSeconds: policy.refresh_reuse_grace_seconds };

  /** Opens the session of a completed sign-in, with the user's roles read when the caller left them out. */
  async function openSession(tx: Tx, ctx: RequestContext, start: SignInStart): Promise<() => Promise<TokenPair>> {
    const roles = start.user.roles ?? (await findUserById(tx, start.user.id))?.roles ?? [];
    return sessions.openSession(tx, ctx, { ...start, user: { ...start.user, roles } });
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
      const found = await db.withPlatform(async (tx, transaction) => {
        const tenant = slug === undefined ? null : await tenants.findBySlug(tx, slug);
        // An unknown slug enters a tenant that does not exist and looks for the user there: the
        // same queries as for a known one, so the answer's timing does not tell the slug exists.
        const contextTenant = tenant === undefined ? NO_TENANT : tenant?.id;
        if (contextTenant) await transaction.continueInTenant(contextTenant);
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

    /** Rotates a refresh token (FR-AUTH-005): the sessions module's, with the user's facts from here. */
    refresh: (ctx: RequestContext, refreshToken: string): Promise<TokenPair> => sessions.refresh(ctx, refreshToken, refreshTerms),

    openSession,
    stepUpSession: sessions.stepUpSession,
    logout: sessions.logout,

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
