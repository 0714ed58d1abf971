import { recordAudit } from '../../kernel/audit/audit.ts';
import { withRevocation } from '../../kernel/auth/revocation.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import { inPlane, isUuid, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { PLATFORM_JOB_SCOPE } from '../../kernel/jobs/jobs.ts';
import { parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import type { SecretBox } from '../../kernel/crypto/secret-box.ts';
import type { Platform } from '../../kernel/platform.ts';
import { addressSource, loginAccountKey, loginThrottle, type LockoutService } from '../lockout/index.ts';
import { normalizeEmail } from './identity.service.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { proveResetSecondFactor, resetSecondFactorMethods } from '../mfa/index.ts';
import {
  HISTORY_RULE,
  minimumPolicy,
  policyWeakerThanMinimum,
  unmetPasswordRules,
  type PasswordContext,
  type PasswordMinimum,
  type PasswordPolicy,
  type UnmetPasswordRule,
} from './password-policy.ts';
import { PASSWORD_RESET_JOB, type PasswordResetJobData } from './passwords.jobs.ts';
import {
  claimReset,
  findLiveReset,
  findPasswordOwner,
  findPasswordPolicy,
  recentPasswordHashes,
  setPassword,
  upsertPasswordPolicy,
} from './passwords.queries.ts';

/** The same answer for an unknown, expired or used link: no hint which. */
const invalidReset = () => new AppError('password-reset-invalid', 'This password reset link is not valid. Ask for a new one.');

const toPolicy = (row: { min_length: number; require_all_classes: boolean; history: number; min_strength: number } | undefined, minimum: PasswordMinimum): PasswordPolicy =>
  row ? { minLength: row.min_length, requireAllClasses: row.require_all_classes, history: row.history, minStrength: row.min_strength } : minimumPolicy(minimum);

const policyView = (tenantId: string, policy: PasswordPolicy, version: number) => ({
  tenant_id: tenantId,
  min_length: policy.minLength,
  require_all_classes: policy.requireAllClasses,
  history: policy.history,
  min_strength: policy.minStrength,
  version,
});

/** The policy in force in the transaction's context: the tenant's, or the product's minimum for staff and tenants that set none. */
export async function passwordPolicyIn(tx: Tx, tenantId: string | null, minimum: PasswordMinimum): Promise<PasswordPolicy> {
  return tenantId === null ? minimumPolicy(minimum) : toPolicy(await findPasswordPolicy(tx), minimum);
}

/** Password change, reset by emailed link, and the tenant's password policy (FR-AUTH-002, FR-AUTH-003). */
/**
 * `secrets` opens the TOTP secrets a reset is checked against (a reset never bypasses MFA); a new
 * password forgets the account's failed sign-ins in `lockout`; `minimum` is the product's password
 * minimum (identity.password_* of the product policy).
 */
export function createPasswordsService(platform: Platform, secrets: SecretBox, lockout: LockoutService, minimum: PasswordMinimum) {
  const { db, jobs, passwords, sessions, config, throttleKeys } = platform;

  /**
   * Every rule a new password breaks under the policy, the owner's context and history (the
   * current password counts as the newest entry). Verifying runs outside any transaction.
   */
  async function unmetRules(candidate: string, policy: PasswordPolicy, context: PasswordContext, previous: string[]): Promise<UnmetPasswordRule[]> {
    const unmet = unmetPasswordRules(candidate, policy, minimum, context);
    for (const hash of previous.slice(0, policy.history)) {
      if (await passwords.verify(hash, candidate)) {
        unmet.push(HISTORY_RULE(policy.history));
        break;
      }
    }
    return unmet;
  }

  /** Loads what judging a new password needs, in the owner's context. */
  async function passwordSubject(tx: Tx, userId: string, tenantId: string | null) {
    const owner = await findPasswordOwner(tx, userId);
    if (!owner) return undefined;
    const policy = await passwordPolicyIn(tx, tenantId, minimum);
    const history = await recentPasswordHashes(tx, userId, policy.history);
    const previous = [...new Set([...(owner.password_hash ? [owner.password_hash] : []), ...history])];
    return { owner, policy, previous, context: { email: owner.email, name: owner.name, tenantSlug: owner.tenant_slug ?? undefined } };
  }

  async function assertAcceptable(candidate: string, subject: NonNullable<Awaited<ReturnType<typeof passwordSubject>>>): Promise<void> {
    const unmet = await unmetRules(candidate, subject.policy, subject.context, subject.previous);
    if (unmet.length > 0) throw new AppError('weak-password', 'Choose a password that meets every rule listed in unmet_rules.', { unmet_rules: unmet });
  }

  return {
    /** Changes the caller's password; the current one is required. Every other session ends. */
    async change(ctx: SignedInContext, input: { current_password: string; new_password: string }): Promise<void> {
      const actor = ctx.actor;
      // An impersonating staff member acts as the user but must never learn or set its password.
      if (actor.impersonatorId) throw new AppError('forbidden', 'A password cannot be changed while impersonating.');
      const subject = await inPlane(db, actor.tenantId, (tx) => passwordSubject(tx, actor.userId, actor.tenantId));
      if (!subject) throw new AppError('unauthorized');
      if (!(await passwords.verify(subject.owner.password_hash, input.current_password))) {
        throw new AppError('forbidden', 'The current password is not correct.');
      }
      await assertAcceptable(input.new_password, subject);
      // Hashed before the transaction opens: no connection waits on Argon2.
      const passwordHash = await passwords.hash(input.new_password);
      await withRevocation(sessions, { kind: 'user', id: actor.userId }, () =>
        inPlane(db, actor.tenantId, async (tx) => {
          await setPassword(tx, subject.owner, passwordHash);
          await lockout.clearAccountFailures(tx, loginAccountKey(throttleKeys, { tenant: actor.tenantId, email: subject.owner.email }));
          await revokeUserSessions(tx, actor.userId, 'password_changed', actor.sessionId);
          await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'auth.password_changed', resourceType: 'user', resourceId: actor.userId });
        }),
      );
    },

    /**
     * Takes a reset request (public). The answer is the same, and the request does the same work,
     * whatever happens next: the job finds the account, or an unknown organization or address, a
     * disabled account, or the hourly allowance spent (then no mail is sent).
     */
    async requestReset(ctx: RequestContext, input: { email: string; tenant?: string | undefined }): Promise<void> {
      const data: PasswordResetJobData = {
        tenant_id: PLATFORM_JOB_SCOPE,
        correlation_id: ctx.correlationId,
        email: normalizeEmail(input.email),
        tenant: input.tenant?.toLowerCase() ?? null,
        public_url: config.publicUrl,
        ip: ctx.ip,
        user_agent: ctx.userAgent,
      };
      await db.withPlatform((tx) => jobs.enqueue(tx, PASSWORD_RESET_JOB, data));
    },

    /**
     * Sets a new password with a reset link (public: the token is the credential). Single use; the
     * policy and history apply; every session of the user ends.
     */
    async confirmReset(ctx: RequestContext, input: { token: string; new_password: string; totp_code?: string | undefined; recovery_code?: string | undefined }): Promise<void> {
      const parsed = parseScopedToken(input.token);
      if (!parsed) throw invalidReset();
      const { tenantId, hash } = parsed;
      const found = await inPlane(db, tenantId, async (tx) => {
        const reset = await findLiveReset(tx, hash);
        const subject = reset ? await passwordSubject(tx, reset.user_id, tenantId) : undefined;
        const mfaMethods = reset ? await resetSecondFactorMethods(tx, reset.user_id) : [];
        return reset && subject && subject.owner.status === 'active' ? { reset, subject, mfaMethods } : undefined;
      });
      if (!found) throw invalidReset();
      // A reset never bypasses MFA: a user enrolled in a second factor presents a TOTP or recovery
      // code too (checked and spent with the reset below); the link stays unused until then.
      if (found.mfaMethods.length > 0 && input.totp_code === undefined && input.recovery_code === undefined) {
        throw new AppError('mfa-required', 'Enter a code from your authenticator app or a recovery code to reset the password.', {
          error_code: 'ERR-AUTH-461',
          methods: found.mfaMethods,
        });
      }
      await assertAcceptable(input.new_password, found.subject);
      const passwordHash = await passwords.hash(input.new_password);
      const userId = found.reset.user_id;
      const applied = await withRevocation(sessions, { kind: 'user', id: userId }, () =>
        inPlane(db, tenantId, async (tx) => {
          const throttle = loginThrottle(throttleKeys, { tenant: tenantId, email: found.subject.owner.email, source: addressSource(ctx.ip) });
          if (found.mfaMethods.length > 0 && (await proveResetSecondFactor(tx, ctx, { config, secrets, lockout }, { tenantId, userId, throttle }, input)) === 'invalid') return 'mfa';
          if (!(await claimReset(tx, found.reset.id, userId))) return false;
          await setPassword(tx, found.subject.owner, passwordHash);
          await lockout.clearAccountFailures(tx, throttle.account);
          await revokeUserSessions(tx, userId, 'password_reset');
          await recordAudit(tx, ctx, {
            tenantId,
            action: 'auth.password_reset',
            actor: { type: tenantId ? 'user' : 'operator', id: userId },
            resourceType: 'user',
            resourceId: userId,
            metadata: { reset_id: found.reset.id },
          });
          return true;
        }),
      );
      if (applied === 'mfa') throw new AppError('mfa-code-invalid', 'The code is not valid. The reset link still works.');
      if (!applied) throw invalidReset();
    },

    async getPolicy(ctx: RequestContext) {
      const scope = scopeOf(ctx);
      const row = await db.withTenant(ctx, (tx) => findPasswordPolicy(tx));
      return policyView(scope.tenantId, toPolicy(row, minimum), row?.version ?? 0);
    },

    /** Tightens the tenant's password policy; anything weaker than the product's minimum is refused. */
    async updatePolicy(ctx: RequestContext, input: { min_length: number; require_all_classes: boolean; history: number; min_strength?: number | undefined }) {
      if (ctx.reach !== 'all') throw new AppError('forbidden', 'The password policy is set for the whole organization, not a unit.');
      const policy = { ...input, min_strength: input.min_strength ?? minimum.minStrength };
      const weaker = policyWeakerThanMinimum(toPolicy(policy, minimum), minimum);
      if (weaker.length > 0) throw new AppError('validation', `The policy is weaker than the platform minimum: ${weaker.join(' ')}`);
      const scope = scopeOf(ctx);
      const updatedBy = ctx.actor?.userId;
      const row = await db.withTenant(ctx, async (tx) => {
        const saved = await upsertPasswordPolicy(tx, scope.tenantId, { ...policy, updated_by: isUuid(updatedBy) ? updatedBy : null });
        await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'auth.password_policy_updated', resourceType: 'password_policy', metadata: { ...policy } });
        return saved;
      });
      return policyView(scope.tenantId, toPolicy(row, minimum), row.version);
    },
  };
}

export type PasswordsService = ReturnType<typeof createPasswordsService>;
