import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../../kernel/audit/audit.ts';
import { announceRevocation } from '../../kernel/auth/revocation.ts';
import { scopeOf, type RequestContext, type SignedInContext } from '../../kernel/context.ts';
import { mintScopedToken, parseScopedToken } from '../../kernel/crypto/scoped-token.ts';
import { inPlane, isUuid, type Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { createNotifier, type Notifier } from '../../kernel/notify/notify.ts';
import type { Platform } from '../../kernel/platform.ts';
import type { VerificationPolicyType } from './verification.policy.ts';
import {
  claimCode,
  countSend,
  countVerify,
  findLiveCode,
  findLiveCodeByToken,
  findLock,
  findVerificationPolicy,
  findVerificationSubject,
  insertCode,
  markEmailVerified,
  markPhoneVerified,
  setPhone,
  takeSendAllowances,
  upsertVerificationPolicy,
  type Purpose,
} from './verification.queries.ts';
import type { PhoneChannel, VerificationPolicyInput } from './verification.schemas.ts';

/** What names the platform plane where a tenant id would stand (throttle keys). */
const PLATFORM_SCOPE = 'platform';
/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
/** The code is hashed with the id of its row, so equal codes of different rows hash differently. */
const codeHash = (id: string, code: string) => sha256(`${id}:${code}`);

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

const sixDigits = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

/** The same answer for an unknown, expired or used link: no hint which. */
const invalidLink = () => new AppError('verification-link-invalid', 'This verification link is not valid any more. Sign in and ask for a new one.');
const invalidCode = () => new AppError('verification-code-invalid', 'The code is not correct, or it expired. Ask for a new one.');

function retryAfterSeconds(until: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
}

/** A lifetime as the messages state it: whole minutes, rounded up. */
const minutes = (seconds: number) => `${Math.ceil(seconds / 60)} minutes`;

const limited = (until: Date, detail: string) => new AppError('rate-limited', detail, { retry_after: retryAfterSeconds(until) });

interface VerificationDeps {
  notifier: Notifier;
  publicUrl: string;
  /** How long a code or link works (the policy's verification.code_lifetime_seconds, FR-VER-002). */
  codeLifetimeSeconds: number;
}

interface Subject {
  id: string;
  tenant_id: string | null;
  email: string;
}

/**
 * Mails a verification link and code to the address stored on the account (never an address from
 * the request), in the caller's transaction. Used by the send route and by every path that creates a
 * user without an emailed token (a new tenant's Owner). Earlier codes stop working.
 */
async function issueEmailVerification(tx: Tx, ctx: RequestContext, deps: VerificationDeps, user: Subject): Promise<void> {
  const code = sixDigits();
  const link = mintScopedToken(user.tenant_id);
  const id = randomUUID();
  await insertCode(tx, {
    id,
    tenant_id: user.tenant_id,
    user_id: user.id,
    purpose: 'email',
    channel: 'email',
    target: user.email,
    code_hash: codeHash(id, code),
    token_hash: link.hash,
    expires_at: new Date(Date.now() + deps.codeLifetimeSeconds * 1000),
  });
  const url = `${deps.publicUrl}/#/verify-email?token=${encodeURIComponent(link.token)}`;
  await deps.notifier.notify(
    tx,
    {
      channel: 'email',
      tenantId: user.tenant_id,
      kind: 'email_verification',
      to: user.email,
      subject: 'Verify your email address',
      text: [
        'Hello,',
        '',
        'Open this link to verify your email address:',
        '',
        url,
        '',
        `Or enter this code where you are signed in: ${code}`,
        '',
        `The link and the code work once and expire in ${minutes(deps.codeLifetimeSeconds)}. If you did not ask for this, ignore this mail.`,
      ].join('\n'),
    },
    ctx.correlationId,
  );
  await recordAudit(tx, ctx, { tenantId: user.tenant_id, action: 'verification.sent', resourceType: 'user', resourceId: user.id, metadata: { purpose: 'email', channel: 'email', code_id: id } });
}

/** Email and phone verification and the tenant's verification policy (FR-VER-001, FR-VER-002). */
export function createVerificationService(platform: Platform, policy: VerificationPolicyType) {
  const { db, jobs, config, sessions, throttleKeys } = platform;
  const deps: VerificationDeps = { notifier: createNotifier(jobs), publicUrl: config.publicUrl, codeLifetimeSeconds: policy.code_lifetime_seconds };

  /** A verified (or changed) address or number changes what every node lets the session do: they drop it from their caches. */
  async function announceVerificationChange(tx: Tx, userId: string) {
    await announceRevocation(tx, { kind: 'user', id: userId });
  }

  async function subjectOf(tx: Tx, ctx: SignedInContext) {
    const subject = await findVerificationSubject(tx, ctx.actor.userId);
    if (!subject || subject.status !== 'active') throw new AppError('unauthorized');
    return subject;
  }

  /**
   * The counters a code to `destination` takes from besides its user's own: the destination's, by
   * hour and by day, whichever accounts and tenants ask (an attacker with many accounts cannot pump
   * codes to one number), and the tenant's by hour. Destinations are stored normalised (E.164, or an
   * address folded by normalizeEmail), so one number or address is one counter.
   */
  function sendCaps(tenantId: string | null, destination: string) {
    const { codes_per_destination_per_hour: destinationPerHour, codes_per_destination_per_day: destinationPerDay, codes_per_tenant_per_hour: tenantPerHour } = policy;
    return [
      { cap: 'destination_hour', key: throttleKeys.of('verification destination hour', destination), limit: destinationPerHour, windowSeconds: 3600 },
      { cap: 'destination_day', key: throttleKeys.of('verification destination day', destination), limit: destinationPerDay, windowSeconds: 86_400 },
      { cap: 'tenant_hour', key: throttleKeys.of('verification tenant hour', tenantId ?? PLATFORM_SCOPE), limit: tenantPerHour, windowSeconds: 3600 },
    ];
  }

  /**
   * Counts a send to `message.to`; past the user's hourly allowance or a cap, or while verification
   * is locked, nothing is sent and the refusal is audited (a cap as a security event). Returns the
   * refusal to throw after the transaction commits.
   */
  async function allowSend(tx: Tx, ctx: RequestContext, subject: Subject, purpose: Purpose, message: { channel: PhoneChannel; to: string }): Promise<AppError | null> {
    const audit = { tenantId: subject.tenant_id, resourceType: 'user', resourceId: subject.id } as const;
    const lock = await findLock(tx, subject.id, purpose);
    if (lock?.locked_until && lock.locked_until.getTime() > Date.now()) {
      await recordAudit(tx, ctx, { ...audit, action: 'verification.failed', outcome: 'denied', metadata: { purpose, reason: 'locked' } });
      return limited(lock.locked_until, 'Verification is locked for a while after too many wrong codes.');
    }
    const counted = await countSend(tx, { tenant_id: subject.tenant_id, user_id: subject.id, purpose });
    if (counted.count > policy.codes_per_user_per_hour) {
      await recordAudit(tx, ctx, { ...audit, action: 'verification.failed', outcome: 'denied', metadata: { purpose, reason: 'send_limit' } });
      return limited(new Date(new Date(counted.window_start).getTime() + 3600_000), `At most ${policy.codes_per_user_per_hour} codes are sent an hour.`);
    }
    const caps = sendCaps(subject.tenant_id, message.to);
    const spent = await takeSendAllowances(tx, caps);
    if (spent.length === 0) return null;
    const spentCaps = caps.filter((cap) => spent.some((row) => row.key === cap.key));
    await recordAudit(tx, ctx, {
      ...audit,
      action: 'security.verification_send_capped',
      category: 'security',
      severity: 'medium',
      outcome: 'denied',
      metadata: { purpose, channel: message.channel, caps: spentCaps.map((cap) => cap.cap) },
    });
    const retryAfter = Math.max(...spent.map((row) => row.retry_after));
    const detail = spentCaps.some((cap) => cap.cap !== 'tenant_hour')
      ? 'No more codes can be sent to this address or number for now.'
      : `Your organization has sent its ${policy.codes_per_tenant_per_hour} codes for this hour.`;
    return new AppError('rate-limited', detail, { retry_after: Math.max(1, retryAfter) });
  }

  /**
   * Checks a code against the live one, counting the attempt first (atomically: parallel attempts
   * cannot pass the allowance). The attempt, its audit event and a lockout commit whatever the
   * outcome; the error is thrown after.
   */
  async function checkCode(ctx: SignedInContext, purpose: Purpose, code: string): Promise<void> {
    const actor = ctx.actor;
    const outcome = await inPlane(db, actor.tenantId, async (tx): Promise<AppError | null> => {
      const subject = await subjectOf(tx, ctx);
      const counted = await countVerify(tx, { tenant_id: subject.tenant_id, user_id: subject.id, purpose }, policy.verify_attempts_per_hour, policy.verify_lockout_seconds);
      const audit = { tenantId: subject.tenant_id, resourceType: 'user', resourceId: subject.id } as const;
      if (counted.locked_until && new Date(counted.locked_until).getTime() > Date.now()) {
        if (counted.locked_now) {
          await recordAudit(tx, ctx, {
            ...audit,
            action: 'security.verification_locked',
            category: 'security',
            severity: 'medium',
            outcome: 'denied',
            metadata: { purpose, attempts: policy.verify_attempts_per_hour, lockout_seconds: policy.verify_lockout_seconds },
          });
        }
        await recordAudit(tx, ctx, { ...audit, action: 'verification.failed', outcome: 'denied', metadata: { purpose, reason: 'locked' } });
        return limited(new Date(counted.locked_until), `Too many wrong codes: verification is locked for ${Math.round(policy.verify_lockout_seconds / 60)} minutes.`);
      }
      const live = await findLiveCode(tx, subject.id, purpose);
      // A code proves the address or number it was sent for, and only while the account still has it.
      const target = purpose === 'email' ? subject.email : subject.phone;
      const matches = live !== undefined && sameHash(live.code_hash, codeHash(live.id, code)) && live.target === target;
      if (!matches || !(await claimCode(tx, live.id))) {
        await recordAudit(tx, ctx, { ...audit, action: 'verification.failed', outcome: 'failure', metadata: { purpose, reason: live ? 'wrong_code' : 'no_live_code' } });
        return invalidCode();
      }
      const verified = purpose === 'email' ? await markEmailVerified(tx, subject.id, subject.email) : await markPhoneVerified(tx, subject.id, subject.phone!);
      if (!verified && purpose === 'phone') return invalidCode();
      await recordAudit(tx, ctx, { ...audit, action: 'verification.verified', metadata: { purpose, code_id: live.id } });
      await announceVerificationChange(tx, subject.id);
      return null;
    });
    if (outcome) throw outcome;
    sessions.apply({ kind: 'user', id: actor.userId });
  }

  return {
    /**
     * Mails a verification link and code to the user's stored address, in the caller's transaction:
     * for every path that creates a user without an emailed token (a new tenant's Owner).
     */
    issueEmailVerification: (tx: Tx, ctx: RequestContext, user: Subject) => issueEmailVerification(tx, ctx, deps, user),

    /** Sends a new link and code to the caller's address (FR-VER-001). */
    async sendEmail(ctx: SignedInContext): Promise<{ sent: true; expires_in: number }> {
      const actor = ctx.actor;
      const refusal = await inPlane(db, actor.tenantId, async (tx) => {
        const subject = await subjectOf(tx, ctx);
        if (subject.email_verified_at) throw new AppError('conflict', 'The email address is verified already.');
        const refused = await allowSend(tx, ctx, subject, 'email', { channel: 'email', to: subject.email });
        if (!refused) await issueEmailVerification(tx, ctx, deps, subject);
        return refused;
      });
      if (refusal) throw refusal;
      return { sent: true, expires_in: policy.code_lifetime_seconds };
    },

    /** The link from the mail (public: the token is the credential). Single use, within the code's lifetime. */
    async confirmEmailLink(ctx: RequestContext, token: string): Promise<{ verified: true }> {
      const parsed = parseScopedToken(token);
      if (!parsed) throw invalidLink();
      const userId = await inPlane(db, parsed.tenantId, async (tx) => {
        const live = await findLiveCodeByToken(tx, parsed.hash);
        if (!live) return null;
        const subject = await findVerificationSubject(tx, live.user_id);
        // The link proves the address it was sent to: an account whose address changed since is not verified by it.
        if (!subject || subject.status !== 'active' || subject.email !== live.target || !(await claimCode(tx, live.id))) return null;
        await markEmailVerified(tx, subject.id, live.target);
        await recordAudit(tx, ctx, {
          tenantId: parsed.tenantId,
          action: 'verification.verified',
          actor: { type: parsed.tenantId ? 'user' : 'operator', id: subject.id },
          resourceType: 'user',
          resourceId: subject.id,
          metadata: { purpose: 'email', code_id: live.id, by: 'link' },
        });
        await announceVerificationChange(tx, subject.id);
        return subject.id;
      });
      if (!userId) throw invalidLink();
      sessions.apply({ kind: 'user', id: userId });
      return { verified: true };
    },

    /** The 6-digit code from the mail, entered while signed in. */
    async confirmEmailCode(ctx: SignedInContext, code: string): Promise<{ verified: true }> {
      await checkCode(ctx, 'email', code);
      return { verified: true };
    },

    /**
     * Sets the caller's number (E.164) and sends a code over the chosen channel, or the tenant's
     * default (FR-VER-002). A different number than the stored one is unverified at once.
     */
    async setPhone(ctx: SignedInContext, input: { phone: string; channel?: PhoneChannel | undefined }) {
      const actor = ctx.actor;
      const phone = input.phone.replace(/[\s().-]/g, '');
      if (!E164.test(phone)) throw new AppError('validation', 'Give the number in international form, e.g. +14155550123.');
      const result = await inPlane(db, actor.tenantId, async (tx) => {
        const subject = await subjectOf(tx, ctx);
        if (subject.phone === phone && subject.phone_verified_at) throw new AppError('conflict', 'This number is verified already.');
        const tenantPolicy = actor.tenantId ? await findVerificationPolicy(tx) : undefined;
        const channel: PhoneChannel = input.channel ?? tenantPolicy?.default_channel ?? 'sms';
        if (subject.phone !== phone) {
          await setPhone(tx, subject.id, phone);
          await recordAudit(tx, ctx, { tenantId: subject.tenant_id, action: 'user.phone_changed', resourceType: 'user', resourceId: subject.id, metadata: { had_phone: subject.phone !== null } });
          await announceVerificationChange(tx, subject.id);
        }
        const to = channel === 'email' ? subject.email : phone;
        const refused = await allowSend(tx, ctx, subject, 'phone', { channel, to });
        if (refused) return { refused, channel };
        const code = sixDigits();
        const id = randomUUID();
        await insertCode(tx, {
          id,
          tenant_id: subject.tenant_id,
          user_id: subject.id,
          purpose: 'phone',
          channel,
          target: phone,
          code_hash: codeHash(id, code),
          token_hash: null,
          expires_at: new Date(Date.now() + policy.code_lifetime_seconds * 1000),
        });
        await deps.notifier.notify(
          tx,
          {
            channel,
            tenantId: subject.tenant_id,
            kind: 'phone_verification',
            to,
            subject: 'Your verification code',
            text: `Your verification code is ${code}. It works once and expires in ${minutes(policy.code_lifetime_seconds)}.`,
          },
          ctx.correlationId,
        );
        await recordAudit(tx, ctx, { tenantId: subject.tenant_id, action: 'verification.sent', resourceType: 'user', resourceId: subject.id, metadata: { purpose: 'phone', channel, code_id: id } });
        return { refused: null, channel };
      });
      // The number is stored even when no code may be sent now; the caller learns why.
      sessions.apply({ kind: 'user', id: actor.userId });
      if (result.refused) throw result.refused;
      return { phone, phone_verified: false, channel: result.channel, expires_in: policy.code_lifetime_seconds };
    },

    async verifyPhone(ctx: SignedInContext, code: string): Promise<{ verified: true }> {
      await checkCode(ctx, 'phone', code);
      return { verified: true };
    },

    async getPolicy(ctx: RequestContext) {
      const scope = scopeOf(ctx);
      const row = await db.withTenant(ctx, (tx) => findVerificationPolicy(tx));
      return { tenant_id: scope.tenantId, require_phone: row?.require_phone ?? false, default_channel: row?.default_channel ?? 'sms', version: row?.version ?? 0 };
    },

    /** Requiring phone verification applies at once to every session of the tenant, on every node. */
    async updatePolicy(ctx: RequestContext, input: VerificationPolicyInput) {
      if (ctx.reach !== 'all') throw new AppError('forbidden', 'The verification policy is set for the whole organization, not a unit.');
      const scope = scopeOf(ctx);
      const updatedBy = ctx.actor?.userId;
      const row = await db.withTenant(ctx, async (tx) => {
        const saved = await upsertVerificationPolicy(tx, scope.tenantId, {
          require_phone: input.require_phone,
          default_channel: input.default_channel ?? 'sms',
          updated_by: isUuid(updatedBy) ? updatedBy : null,
        });
        await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'verification.policy_updated', resourceType: 'verification_policy', metadata: { ...saved } });
        await announceRevocation(tx, { kind: 'tenant', id: scope.tenantId });
        return saved;
      });
      sessions.apply({ kind: 'tenant', id: scope.tenantId });
      return { tenant_id: scope.tenantId, ...row };
    },
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
