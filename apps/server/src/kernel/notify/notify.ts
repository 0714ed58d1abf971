import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/database.ts';
import { PLATFORM_JOB_SCOPE, type JobDefinition, type JobQueue, type TenantJobData } from '../jobs/jobs.ts';

/**
 * The notification port: every message the platform sends (password reset, invitation, welcome,
 * verification codes) is one job enqueued in the transaction of the change that causes it, so it
 * exists if and only if the change commits. The worker hands it to the channel's transport.
 */
export type NotificationChannel = 'email' | 'sms' | 'whatsapp';

export interface Message {
  channel: NotificationChannel;
  /** An email address, or an E.164 number for SMS and WhatsApp. */
  to: string;
  subject?: string;
  text: string;
  html?: string;
  /** The tenant the message belongs to; null for platform staff. */
  tenantId: string | null;
  /** What the message is (password_reset, invitation, email_verification…), for logs and metrics. */
  kind: string;
}

export const NOTIFICATION_JOB = 'notification';

export interface NotificationJobData extends TenantJobData {
  channel: NotificationChannel;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  kind: string;
  /**
   * Chosen once when the message is enqueued, so every attempt (a retry after a lost SMTP
   * acknowledgement, a deferral, a replay) carries the same Message-ID and the receiver can drop
   * the duplicate. Absent on jobs enqueued before it existed.
   */
  message_id?: string;
}

export interface Notifier {
  /** Enqueues one message in the caller's transaction; the correlation id follows it to the worker. */
  notify(tx: Tx, message: Message, correlationId?: string): Promise<void>;
}

export function createNotifier(jobs: Pick<JobQueue, 'enqueue'>): Notifier {
  return {
    async notify(tx, message, correlationId) {
      const data: NotificationJobData = {
        tenant_id: message.tenantId ?? PLATFORM_JOB_SCOPE,
        correlation_id: correlationId ?? randomUUID(),
        channel: message.channel,
        to: message.to,
        subject: message.subject ?? '',
        text: message.text,
        html: message.html ?? null,
        kind: message.kind,
        message_id: randomUUID(),
      };
      await jobs.enqueue(tx, NOTIFICATION_JOB, data);
    },
  };
}

/** A delivered message as a transport receives it. */
export interface Delivery {
  tenantId: string | null;
  channel: NotificationChannel;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  /** The same on every attempt at this message (NotificationJobData.message_id). */
  messageId: string | null;
}

/** Hands a message over; throws when it could not (the queue retries the job). */
export interface Transport {
  readonly mode: 'smtp' | 'dev-mailbox';
  deliver(tx: Tx, message: Delivery): Promise<void>;
}

/**
 * The job that delivers one message. Kill switches hold it back per channel (declared where the job
 * list is built, with switchedJob), so a tripped messaging switch delays messages and never drops them.
 */
export function notificationJob(transport: Transport): JobDefinition<NotificationJobData> {
  return {
    name: NOTIFICATION_JOB,
    retryLimit: 8,
    // A send takes seconds; the transport gives up on a stalled server well within this.
    leaseSeconds: 60,
    async handle(tx, data, ctx) {
      const tenantId = data.tenant_id === PLATFORM_JOB_SCOPE ? null : data.tenant_id;
      const delivery = { tenantId, channel: data.channel, to: data.to, subject: data.subject, text: data.text, html: data.html, messageId: data.message_id ?? null };
      await transport.deliver(tx, delivery);
      ctx.log.info({ kind: data.kind, channel: data.channel, mode: transport.mode }, 'message delivered');
    },
  };
}
