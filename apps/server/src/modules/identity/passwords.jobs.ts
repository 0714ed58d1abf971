import { recordAudit } from '../../kernel/audit/audit.ts';
import { mintScopedToken } from '../../kernel/crypto/scoped-token.ts';
import type { JobDefinition, JobQueueDefinition, TenantJobData } from '../../kernel/jobs/jobs.ts';
import type { TenantDirectory } from '../../kernel/tenants.ts';
import { createNotifier } from '../../kernel/notify/notify.ts';
import { findUserByEmail } from './identity.queries.ts';
import { countResetsSince, insertPasswordReset } from './passwords.queries.ts';

export const PASSWORD_RESET_JOB = 'password-reset';
/** How long a reset link works. */
export const RESET_TTL_SECONDS = 30 * 60;
/** Reset mails per user per hour; further requests get the same answer and send nothing. */
export const RESETS_PER_HOUR = 3;
/** A reset request as the API took it: nothing about the account is looked up before the job runs. */
export interface PasswordResetJobData extends TenantJobData {
  email: string;
  /** The organization's slug as typed, or null for platform staff. */
  tenant: string | null;
  public_url: string;
  ip: string | null;
  user_agent: string | null;
}

/**
 * The reset mail, to the address stored on the account, never the address typed in the request.
 * The raw token exists only in this message (the app role cannot read job payloads).
 */
function resetMail(tenantId: string | null, recipient: string, link: string) {
  return {
    channel: 'email' as const,
    tenantId,
    kind: 'password_reset',
    to: recipient,
    subject: 'Reset your password',
    text: [
      'Hello,',
      '',
      'Someone asked to reset the password of your account. Open this link to choose a new password:',
      '',
      link,
      '',
      `The link works once and expires in ${RESET_TTL_SECONDS / 60} minutes. If you did not ask for it, ignore this mail.`,
    ].join('\n'),
  };
}

const resetLink = (publicUrl: string, token: string) => `${publicUrl}/#/reset-password?token=${encodeURIComponent(token)}`;

/**
 * Issues the reset link of a request (FR-AUTH-003) if the address belongs to an active account and
 * its hourly allowance is not spent. It runs here, not in the request, so that the answer takes the
 * same time whether the account exists or not. Runs in the platform plane: the slug names the
 * tenant it enters, as login does.
 */
export const PASSWORD_RESET_QUEUE = { name: PASSWORD_RESET_JOB, retryLimit: 3 } satisfies JobQueueDefinition;

export function passwordResetJob(tenants: TenantDirectory): JobDefinition<PasswordResetJobData> {
  return {
    ...PASSWORD_RESET_QUEUE,
    async handle(tx, data, ctx, jobs) {
      let tenantId: string | null = null;
      if (data.tenant !== null) {
        const tenant = await tenants.findBySlug(tx, data.tenant);
        if (!tenant || tenant.status !== 'active') return;
        tenantId = tenant.id;
        await jobs.continueInTenant(tenant.id);
      }
      const user = await findUserByEmail(tx, data.email);
      if (!user || user.status !== 'active') return;
      const requester = { ip: data.ip, userAgent: data.user_agent, resourceType: 'user', resourceId: user.id };
      if ((await countResetsSince(tx, user.id, new Date(Date.now() - 3600_000))) >= RESETS_PER_HOUR) {
        await recordAudit(tx, ctx, { ...requester, tenantId, action: 'auth.password_reset_requested', outcome: 'denied', metadata: { reason: 'hourly_limit' } });
        return;
      }
      const { token, hash } = mintScopedToken(tenantId);
      const reset = await insertPasswordReset(tx, { tenant_id: tenantId, user_id: user.id, token_hash: hash, expires_at: new Date(Date.now() + RESET_TTL_SECONDS * 1000) });
      await createNotifier(jobs).notify(tx, resetMail(tenantId, user.email, resetLink(data.public_url, token)), ctx.correlationId);
      await recordAudit(tx, ctx, { ...requester, tenantId, action: 'auth.password_reset_requested', metadata: { reset_id: reset.id } });
    },
  };
}
