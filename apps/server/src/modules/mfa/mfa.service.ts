import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { withRevocation } from '../../kernel/auth/revocation.ts';
import type { Config } from '../../kernel/config.ts';
import type { SecretBox } from '../../kernel/crypto/secret-box.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import { parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import { inPlane, isUuid, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { recentSecondFactor } from '../../kernel/auth/step-up.ts';
import type { Platform } from '../../kernel/platform.ts';
import { addressSource, loginSource, loginThrottle, type LockoutService, type LoginThrottle } from '../lockout/index.ts';
import { revokeUserSessions, type DeviceInput, type SessionOpener, type TokenPair } from '../sessions/index.ts';
import { methodsOf, type MfaMethod } from './challenges.ts';
import {
  activateFactor,
  activeFactorKinds,
  countChallengeAttempt,
  countUnusedRecoveryCodes,
  deleteFactor,
  deletePendingTotp,
  deleteExpiredChallenges,
  deleteRecoveryCodes,
  findFactor,
  findLoginChallenge,
  findTenantMfaPolicy,
  insertChallenge,
  insertFactor,
  listFactors,
  replaceRecoveryCodes,
  setChallengeWebauthn,
  upsertTenantMfaPolicy,
  useChallenge,
  webauthnCredentials,
  claimCeremony,
} from './mfa.queries.ts';
import { proofCount, proveSecondFactor, type ProofOutcome, type SecondFactorProof } from './proofs.ts';
import type { MfaPolicyType } from './mfa.policy.ts';
import { newRecoveryCodes } from './recovery-codes.ts';
import { newTotpSecret, openTotpSecret, sealTotpSecret, totpUri, verifyTotp } from './totp.ts';
import { answeredChallenge, authenticationOptions, registrationOptions, verifyRegistration, WEBAUTHN_TIMEOUT_MS } from './webauthn.ts';

const invalidChallenge = () => new AppError('mfa-challenge-invalid', 'This sign-in has expired or was already used. Sign in again.');
const notFound = () => new AppError('not-found', 'No such factor.');

/** The user whose second factor is checked, and the lockout counters of the sign-in. */
interface FactorOwner {
  tenantId: string | null;
  userId: string;
  throttle: LoginThrottle;
}

/**
 * Counts a failed second factor toward the lockout of its source (FR-AUTH-004) and records it;
 * the failure that locks the source out is a security event.
 */
async function countFailure(
  tx: Tx,
  ctx: RequestContext,
  lockout: LockoutService,
  owner: FactorOwner,
  action: 'auth.mfa_verify' | 'auth.step_up' | 'auth.password_reset',
  metadata: Record<string, unknown>,
) {
  const { tenantId, userId } = owner;
  const counted = await lockout.countLoginFailure(tx, owner.throttle);
  await recordAudit(tx, ctx, { tenantId, action, outcome: 'failure', resourceType: 'user', resourceId: userId, metadata });
  if (counted.lockedNow) await lockout.recordAccountLocked(tx, ctx, { tenantId, userId, failures: counted.failures, factor: true });
}

/** A recovery code in use means a lost device: always a security event (medium). */
async function recordRecoveryCodeUse(tx: Tx, ctx: RequestContext, tenantId: string | null, userId: string, remaining: number) {
  await recordAudit(tx, ctx, {
    tenantId,
    action: 'security.recovery_code_used',
    category: 'security',
    severity: 'medium',
    resourceType: 'user',
    resourceId: userId,
    metadata: { remaining },
  });
}

/**
 * FR-AUTH-004, a reset never bypasses MFA: called in the reset's transaction. A user with an
 * active factor must present a TOTP or recovery code; a wrong one counts toward the lockout.
 */
export async function proveResetSecondFactor(
  tx: Tx,
  ctx: RequestContext,
  keys: { config: Config; secrets: SecretBox; lockout: LockoutService },
  owner: FactorOwner,
  proof: { totp_code?: string | undefined; recovery_code?: string | undefined },
): Promise<'not_enrolled' | 'proven' | 'invalid'> {
  if ((await activeFactorKinds(tx, owner.userId)).length === 0) return 'not_enrolled';
  const outcome: ProofOutcome =
    proof.totp_code !== undefined || proof.recovery_code !== undefined
      ? await proveSecondFactor(tx, keys, owner.userId, { totp_code: proof.totp_code, recovery_code: proof.totp_code === undefined ? proof.recovery_code : undefined }, null)
      : { ok: false, reason: 'bad_code' };
  if (!outcome.ok) {
    await countFailure(tx, ctx, keys.lockout, owner, 'auth.password_reset', { reason: `mfa_${outcome.reason}` });
    return 'invalid';
  }
  if (outcome.method === 'recovery_code') await recordRecoveryCodeUse(tx, ctx, owner.tenantId, owner.userId, await countUnusedRecoveryCodes(tx, owner.userId));
  return 'proven';
}

/** The methods a reset confirm can use for a user (TOTP and recovery codes); empty when none is needed. */
export async function resetSecondFactorMethods(tx: Tx, userId: string): Promise<MfaMethod[]> {
  return (await methodsOf(tx, userId)).filter((method) => method !== 'webauthn');
}

/** Second factors (NFR-SEC-003), the login challenge (ERR-AUTH-461), step-up (FR-AUTH-014), tenant MFA policy. */
export function createMfaService(platform: Platform, deps: { identity: SessionOpener; lockout: LockoutService }, secrets: SecretBox, policy: MfaPolicyType) {
  const { db, config, sessions, throttleKeys, users } = platform;
  const { identity, lockout } = deps;
  const keys = { config, secrets, lockout };
  const own = <T>(ctx: SignedInContext, fn: (tx: Tx) => Promise<T>) => inPlane(db, ctx.actor.tenantId, fn);

  /** Changing the factors of an account that has one needs a second factor proven recently. */
  function requireStepUp(ctx: SignedInContext) {
    if (!recentSecondFactor(ctx.actor, policy.step_up_max_age_seconds)) {
      throw new AppError('step-up-required', 'Confirm with your second factor first: POST /v1/auth/step-up.', { max_age_seconds: policy.step_up_max_age_seconds });
    }
  }

  /** Staff acting as a user never change or prove the user's factors. */
  function refuseImpersonation(ctx: SignedInContext) {
    if (ctx.actor.impersonatorId) throw new AppError('forbidden', 'Second factors cannot be managed or used while impersonating.');
  }

  /** A new set of recovery codes for the user, replacing any earlier set; returned once. */
  async function issueRecoveryCodes(tx: Tx, ctx: RequestContext, tenantId: string | null, userId: string): Promise<string[]> {
    const { codes, hashes } = newRecoveryCodes(policy.recovery_codes);
    await replaceRecoveryCodes(tx, { tenant_id: tenantId, user_id: userId }, hashes);
    await recordAudit(tx, ctx, { tenantId, action: 'mfa.recovery_codes_generated', resourceType: 'user', resourceId: userId, metadata: { count: codes.length } });
    return codes;
  }

  /** Enrols a pending TOTP factor for the user (one pending at a time). */
  async function enrolTotp(tx: Tx, ctx: RequestContext, tenantId: string | null, user: { id: string; email: string }) {
    await deletePendingTotp(tx, user.id);
    const secret = newTotpSecret();
    const factor = await insertFactor(tx, {
      tenant_id: tenantId,
      user_id: user.id,
      kind: 'totp',
      name: 'Authenticator app',
      status: 'pending',
      secret: sealTotpSecret(secrets, user.id, secret),
    });
    await recordAudit(tx, ctx, { tenantId, action: 'mfa.factor_enrolled', resourceType: 'mfa_factor', resourceId: factor.id, metadata: { kind: 'totp', user_id: user.id } });
    return { factor_id: factor.id, secret, otpauth_uri: totpUri(secret, config.webauthn.rpName, user.email) };
  }

  /** Activates the user's pending TOTP factor with a first code. */
  async function confirmPendingTotp(tx: Tx, userId: string, factorId: string | null, code: string): Promise<ProofOutcome> {
    const pending = (await listFactors(tx, userId)).filter((f) => f.kind === 'totp' && f.status === 'pending' && (factorId === null || f.id === factorId)).at(-1);
    const factor = pending ? await findFactor(tx, userId, pending.id) : undefined;
    const step = factor ? await verifyTotp(openTotpSecret(secrets, userId, factor.secret!), code, null) : null;
    if (!factor || step === null) return { ok: false, reason: 'bad_code' };
    await activateFactor(tx, factor.id, step);
    return { ok: true, method: 'totp', amr: 'otp', factorId: factor.id };
  }

  function presentFactor(row: { id: string; kind: string; name: string; status: string; created_at: Date; last_used_at: Date | null }) {
    return {
      id: row.id,
      kind: row.kind as 'totp' | 'webauthn',
      name: row.name,
      status: row.status as 'pending' | 'active',
      created_at: row.created_at.toISOString(),
      last_used_at: row.last_used_at ? row.last_used_at.toISOString() : null,
    };
  }

  /** The live login challenge a token names, or null (unknown, used, expired); a reuse is a security event. */
  async function liveChallenge(tx: Tx, ctx: RequestContext, tenantId: string | null, hash: string) {
    const challenge = await findLoginChallenge(tx, hash);
    if (!challenge) return null;
    if (challenge.used_at !== null) {
      await recordAudit(tx, ctx, {
        tenantId,
        action: 'security.mfa_challenge_reuse',
        category: 'security',
        severity: 'medium',
        outcome: 'denied',
        resourceType: 'user',
        resourceId: challenge.user_id,
        metadata: { challenge_id: challenge.id },
      });
      return null;
    }
    return challenge.expires_at.getTime() > Date.now() ? challenge : null;
  }

  return {
    /** How recent a second factor a sensitive action needs (the policy's mfa.step_up_max_age_seconds). */
    stepUpMaxAgeSeconds: policy.step_up_max_age_seconds,

    /**
     * Completes a sign-in held by a login challenge (ERR-AUTH-461) with a TOTP code, a recovery
     * code or a WebAuthn assertion; an enrolment challenge completes with the first TOTP code of
     * the factor enrolled through it, and answers the recovery codes once.
     */
    async verifyLogin(ctx: RequestContext, input: { challenge_token: string } & SecondFactorProof): Promise<TokenPair & { recovery_codes?: string[] }> {
      if (proofCount(input) !== 1) throw new AppError('validation', 'Send exactly one of totp_code, recovery_code or webauthn.');
      const parsed = parseScopedToken(input.challenge_token);
      if (!parsed) throw invalidChallenge();
      const { tenantId } = parsed;
      const outcome = await inPlane(db, tenantId, async (tx) => {
        const challenge = await liveChallenge(tx, ctx, tenantId, parsed.hash);
        if (!challenge) return { error: 'challenge' as const };
        const user = await users.findById(tx, challenge.user_id);
        const device = (challenge.device ?? undefined) as DeviceInput | undefined;
        const throttle = user
          ? loginThrottle(throttleKeys, { tenant: tenantId, email: user.email, source: await loginSource(tx, { tenantId, userId: user.id, deviceId: device?.id, ip: ctx.ip }) })
          : null;
        if (!user || !throttle || user.status !== 'active' || (await lockout.lockedUntil(tx, throttle))) {
          await useChallenge(tx, challenge.id);
          await recordAudit(tx, ctx, { tenantId, action: 'auth.mfa_verify', outcome: 'denied', resourceType: 'user', resourceId: challenge.user_id, metadata: { reason: user?.status === 'active' ? 'locked' : 'disabled' } });
          return { error: 'challenge' as const };
        }
        const proof: ProofOutcome = challenge.enrollment_required
          ? input.totp_code !== undefined
            ? await confirmPendingTotp(tx, user.id, null, input.totp_code)
            : { ok: false, reason: 'no_factor' }
          : await proveSecondFactor(tx, keys, user.id, input, challenge.webauthn_challenge);
        if (!proof.ok) {
          const { attempts } = await countChallengeAttempt(tx, challenge.id);
          await countFailure(tx, ctx, lockout, { tenantId, userId: user.id, throttle }, 'auth.mfa_verify', { reason: proof.reason, attempts, challenge_id: challenge.id });
          if (attempts >= policy.challenge_attempts) {
            await useChallenge(tx, challenge.id);
            await recordAudit(tx, ctx, {
              tenantId,
              action: 'security.mfa_brute_force',
              category: 'security',
              severity: 'high',
              outcome: 'denied',
              resourceType: 'user',
              resourceId: user.id,
              metadata: { challenge_id: challenge.id, attempts },
            });
          }
          return { error: 'code' as const, attemptsLeft: Math.max(0, policy.challenge_attempts - attempts) };
        }
        await useChallenge(tx, challenge.id);
        await lockout.clearLoginFailures(tx, throttle);
        if (proof.method === 'recovery_code') await recordRecoveryCodeUse(tx, ctx, tenantId, user.id, await countUnusedRecoveryCodes(tx, user.id));
        let recoveryCodes: string[] | undefined;
        if (challenge.enrollment_required) {
          await recordAudit(tx, ctx, { tenantId, action: 'mfa.factor_activated', resourceType: 'mfa_factor', resourceId: proof.factorId!, metadata: { kind: 'totp', user_id: user.id } });
          recoveryCodes = await issueRecoveryCodes(tx, ctx, tenantId, user.id);
        }
        const sign = await identity.openSession(tx, ctx, {
          user: { id: user.id, email: user.email, tenant_id: user.tenant_id },
          tenantId,
          amr: ['pwd', 'mfa', proof.amr],
          method: 'mfa',
          device,
          mfaAt: new Date(),
        });
        return { error: null, sign, recoveryCodes };
      });
      if (outcome.error === 'challenge') throw invalidChallenge();
      if (outcome.error === 'code') {
        throw new AppError(
          'mfa-code-invalid',
          outcome.attemptsLeft > 0 ? 'The code is not valid. Try again.' : 'Too many wrong codes: sign in again.',
          { attempts_left: outcome.attemptsLeft },
        );
      }
      const pair = await outcome.sign();
      return outcome.recoveryCodes ? { ...pair, recovery_codes: outcome.recoveryCodes } : pair;
    },

    /** WebAuthn options for a login challenge; the challenge is kept on it (one at a time). */
    async loginWebauthnOptions(ctx: RequestContext, challengeToken: string) {
      const parsed = parseScopedToken(challengeToken);
      if (!parsed) throw invalidChallenge();
      const options = await inPlane(db, parsed.tenantId, async (tx) => {
        const challenge = await liveChallenge(tx, ctx, parsed.tenantId, parsed.hash);
        if (!challenge || challenge.enrollment_required) return null;
        const credentials = (await webauthnCredentials(tx, challenge.user_id)).filter((c) => c.status === 'active');
        if (credentials.length === 0) return null;
        const generated = await authenticationOptions(config, credentials);
        await setChallengeWebauthn(tx, challenge.id, generated.challenge);
        return generated;
      });
      if (!options) throw invalidChallenge();
      return options;
    },

    /** Enrols TOTP through a challenge whose tenant policy requires MFA of a user who has none. */
    async enrolTotpAtLogin(ctx: RequestContext, challengeToken: string) {
      const parsed = parseScopedToken(challengeToken);
      if (!parsed) throw invalidChallenge();
      const enrolled = await inPlane(db, parsed.tenantId, async (tx) => {
        const challenge = await liveChallenge(tx, ctx, parsed.tenantId, parsed.hash);
        if (!challenge?.enrollment_required) return null;
        // The challenge was opened with no factor; one activated since then is proven the usual way.
        if ((await activeFactorKinds(tx, challenge.user_id)).length > 0) return null;
        const user = await users.findById(tx, challenge.user_id);
        return user ? enrolTotp(tx, ctx, parsed.tenantId, user) : null;
      });
      if (!enrolled) throw invalidChallenge();
      return enrolled;
    },

    async status(ctx: SignedInContext) {
      const userId = ctx.actor.userId;
      const { factors, remaining } = await own(ctx, async (tx) => ({ factors: await listFactors(tx, userId), remaining: await countUnusedRecoveryCodes(tx, userId) }));
      return { enrolled: factors.some((f) => f.status === 'active'), factors: factors.map(presentFactor), recovery_codes_remaining: remaining };
    },

    /** Starts a TOTP enrolment: the secret and its otpauth URI, shown once; the factor waits for a code. */
    async startTotp(ctx: SignedInContext) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      return own(ctx, async (tx) => {
        if ((await activeFactorKinds(tx, actor.userId)).length > 0) requireStepUp(ctx);
        const user = await users.findById(tx, actor.userId);
        if (!user) throw new AppError('unauthorized');
        return enrolTotp(tx, ctx, actor.tenantId, user);
      });
    },

    /** Activates a pending TOTP factor with a first code; the user's first factor brings recovery codes. */
    async confirmTotp(ctx: SignedInContext, factorId: string, code: string) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      const result = await own(ctx, async (tx) => {
        const factor = await findFactor(tx, actor.userId, factorId);
        if (!factor || factor.kind !== 'totp' || factor.status !== 'pending') throw notFound();
        const first = (await activeFactorKinds(tx, actor.userId)).length === 0;
        const proof = await confirmPendingTotp(tx, actor.userId, factorId, code);
        if (!proof.ok) return null;
        await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'mfa.factor_activated', resourceType: 'mfa_factor', resourceId: factorId, metadata: { kind: 'totp' } });
        const codes = first ? await issueRecoveryCodes(tx, ctx, actor.tenantId, actor.userId) : undefined;
        const row = (await listFactors(tx, actor.userId)).find((f) => f.id === factorId)!;
        return { factor: presentFactor(row), ...(codes ? { recovery_codes: codes } : {}) };
      });
      if (!result) throw new AppError('mfa-code-invalid', 'The code is not valid. Check the time on your device and try the current code.');
      return result;
    },

    /**
     * Removes a factor; an active one needs a recent step-up. The last one takes the recovery codes
     * with it. Removing an active factor ends every other session of the user, on every node: a
     * factor is removed when it is lost or stolen, and the sessions opened with it go with it.
     */
    async removeFactor(ctx: SignedInContext, factorId: string) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      await withRevocation(sessions, { kind: 'user', id: actor.userId }, () =>
        own(ctx, async (tx) => {
          const factor = await findFactor(tx, actor.userId, factorId);
          if (!factor) throw notFound();
          if (factor.status === 'active') requireStepUp(ctx);
          await deleteFactor(tx, factorId);
          const left = await activeFactorKinds(tx, actor.userId);
          if (left.length === 0) await deleteRecoveryCodes(tx, actor.userId);
          // A pending factor never proved a sign-in: nothing was opened with it.
          const sessionsEnded = factor.status === 'active' ? await revokeUserSessions(tx, actor.userId, 'mfa_factor_removed', actor.sessionId) : 0;
          await recordAudit(tx, ctx, {
            tenantId: actor.tenantId,
            action: 'mfa.factor_removed',
            resourceType: 'mfa_factor',
            resourceId: factorId,
            metadata: { kind: factor.kind, status: factor.status, factors_left: left.length, sessions_ended: sessionsEnded },
          });
        }),
      );
    },

    /** A new set of recovery codes in place of the old set (needs a recent step-up). */
    async regenerateRecoveryCodes(ctx: SignedInContext) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      requireStepUp(ctx);
      return own(ctx, async (tx) => {
        if ((await activeFactorKinds(tx, actor.userId)).length === 0) throw new AppError('conflict', 'Set up a second factor before recovery codes.');
        return { recovery_codes: await issueRecoveryCodes(tx, ctx, actor.tenantId, actor.userId) };
      });
    },

    /** Options to register a passkey or security key; the challenge is stored, single use, 5 minutes. */
    async webauthnRegistrationOptions(ctx: SignedInContext) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      return own(ctx, async (tx) => {
        if ((await activeFactorKinds(tx, actor.userId)).length > 0) requireStepUp(ctx);
        const user = await users.findById(tx, actor.userId);
        if (!user) throw new AppError('unauthorized');
        const options = await registrationOptions(config, user, await webauthnCredentials(tx, actor.userId));
        await deleteExpiredChallenges(tx, actor.userId);
        await insertChallenge(tx, {
          tenant_id: actor.tenantId,
          user_id: actor.userId,
          purpose: 'registration',
          webauthn_challenge: options.challenge,
          expires_at: new Date(Date.now() + WEBAUTHN_TIMEOUT_MS),
        });
        return options;
      });
    },

    /** Registers a passkey from the browser's answer to the options; the first factor brings recovery codes. */
    async registerWebauthn(ctx: SignedInContext, input: { name: string; response: RegistrationResponseJSON }) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      const answered = answeredChallenge(input.response);
      const result = await own(ctx, async (tx) => {
        const first = (await activeFactorKinds(tx, actor.userId)).length === 0;
        if (!first) requireStepUp(ctx);
        if (!answered || !(await claimCeremony(tx, actor.userId, 'registration', answered))) return null;
        const credential = await verifyRegistration(config, input.response, answered).catch(() => null);
        if (!credential) return null;
        const factor = await insertFactor(tx, {
          tenant_id: actor.tenantId,
          user_id: actor.userId,
          kind: 'webauthn',
          name: input.name,
          status: 'active',
          credential_id: credential.credentialId,
          public_key: credential.publicKey,
          sign_count: credential.signCount,
          transports: credential.transports,
        });
        await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'mfa.factor_activated', resourceType: 'mfa_factor', resourceId: factor.id, metadata: { kind: 'webauthn', name: input.name } });
        const codes = first ? await issueRecoveryCodes(tx, ctx, actor.tenantId, actor.userId) : undefined;
        return { factor: presentFactor(factor), ...(codes ? { recovery_codes: codes } : {}) };
      });
      if (!result) throw new AppError('mfa-code-invalid', 'The passkey could not be registered. Try again.');
      return result;
    },

    /** WebAuthn options for a step-up of the caller's session. */
    async stepUpOptions(ctx: SignedInContext) {
      refuseImpersonation(ctx);
      const actor = ctx.actor;
      const options = await own(ctx, async (tx) => {
        const credentials = (await webauthnCredentials(tx, actor.userId)).filter((c) => c.status === 'active');
        if (credentials.length === 0) return null;
        const generated = await authenticationOptions(config, credentials);
        await deleteExpiredChallenges(tx, actor.userId);
        await insertChallenge(tx, { tenant_id: actor.tenantId, user_id: actor.userId, purpose: 'step_up', webauthn_challenge: generated.challenge, expires_at: new Date(Date.now() + WEBAUTHN_TIMEOUT_MS) });
        return generated;
      });
      if (!options) throw new AppError('conflict', 'You have no passkey to confirm with.');
      return options;
    },

    /**
     * Step-up (FR-AUTH-014): a second factor proven in the caller's session marks it (amr mfa,
     * mfa_at now) and answers a new token pair. Failures count toward the lockout.
     */
    async stepUp(ctx: SignedInContext, input: SecondFactorProof): Promise<TokenPair> {
      refuseImpersonation(ctx);
      if (proofCount(input) !== 1) throw new AppError('validation', 'Send exactly one of totp_code, recovery_code or webauthn.');
      const actor = ctx.actor;
      const outcome = await own(ctx, async (tx) => {
        const user = await users.findById(tx, actor.userId);
        const throttle = user ? loginThrottle(throttleKeys, { tenant: actor.tenantId, email: user.email, source: addressSource(ctx.ip) }) : null;
        if (!user || !throttle || (await lockout.lockedUntil(tx, throttle))) return { error: true as const };
        let webauthnChallenge: string | null = null;
        if (input.webauthn) {
          const answered = answeredChallenge(input.webauthn);
          if (answered && (await claimCeremony(tx, actor.userId, 'step_up', answered))) webauthnChallenge = answered;
        }
        const proof = await proveSecondFactor(tx, keys, actor.userId, input, webauthnChallenge);
        if (!proof.ok) {
          await countFailure(tx, ctx, lockout, { tenantId: actor.tenantId, userId: actor.userId, throttle }, 'auth.step_up', { reason: proof.reason, session_id: actor.sessionId });
          return { error: true as const };
        }
        await lockout.clearLoginFailures(tx, throttle);
        if (proof.method === 'recovery_code') await recordRecoveryCodeUse(tx, ctx, actor.tenantId, actor.userId, await countUnusedRecoveryCodes(tx, actor.userId));
        const amr = [...new Set([...actor.amr, 'mfa', proof.amr])];
        const sign = await identity.stepUpSession(tx, ctx, amr, new Date());
        await recordAudit(tx, ctx, { tenantId: actor.tenantId, action: 'auth.step_up', resourceType: 'session', resourceId: actor.sessionId, metadata: { method: proof.method, amr } });
        return { error: false as const, sign };
      });
      if (outcome.error) throw new AppError('mfa-code-invalid', 'The code is not valid.');
      return outcome.sign();
    },

    async getPolicy(ctx: RequestContext) {
      const { tenantId } = scopeOf(ctx);
      const row = await db.withWholeTenant(tenantId, (tx) => findTenantMfaPolicy(tx, tenantId));
      return { tenant_id: tenantId, required: row?.required ?? 'off', new_device: row?.new_device ?? true, version: row?.version ?? 0 };
    },

    /** Sets who must sign in with a second factor, and whether new devices are challenged (FR-AUTH-010). */
    async updatePolicy(ctx: RequestContext, input: { required: 'off' | 'admins' | 'all'; new_device: boolean }) {
      if (ctx.reach !== 'all') throw new AppError('forbidden', 'The MFA policy is set for the whole organization, not a unit.');
      const { tenantId } = scopeOf(ctx);
      const updatedBy = ctx.actor?.userId;
      const row = await db.withWholeTenant(tenantId, async (tx) => {
        const saved = await upsertTenantMfaPolicy(tx, { tenant_id: tenantId, ...input, updated_by: isUuid(updatedBy) ? updatedBy : null });
        await recordAudit(tx, ctx, { tenantId, action: 'mfa_policy.updated', resourceType: 'tenant', resourceId: tenantId, metadata: { ...input } });
        return saved;
      });
      return { tenant_id: tenantId, required: row.required, new_device: row.new_device, version: row.version };
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
