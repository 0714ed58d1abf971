import nodemailer from 'nodemailer';
import type { Tx } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { Delivery, Transport } from './notify.ts';

/**
 * Development delivery: the message lands in the dev_mailbox table with its channel, readable by
 * the tenant it belongs to (or the platform). Also where SMS and WhatsApp go until their adapters exist.
 */
export async function deliverToDevMailbox(tx: Tx, message: Delivery): Promise<void> {
  await tx
    .insertInto('dev_mailbox')
    .values({ tenant_id: message.tenantId, channel: message.channel, recipient: message.to, subject: message.subject, body: message.text })
    .execute();
}

export const devMailboxTransport: Transport = { mode: 'dev-mailbox', deliver: deliverToDevMailbox };

export interface SmtpTransport extends Transport {
  readonly mode: 'smtp';
  /** Connects and authenticates without sending (the health API). */
  verify(): Promise<void>;
  close(): void;
}

/**
 * Email through SMTP (SMTP_URL, pooled connections, from SMTP_FROM); other channels still go to
 * the development mailbox. A refused or failed send throws, so the job is retried with backoff.
 */
export function createSmtpTransport(options: { url: string; from: string; log: Logger }): SmtpTransport {
  // A stalled server fails the send well within the notification job's 60 s lease.
  const mailer = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const domain = /@([^\s<>@]+)>?\s*$/.exec(options.from)?.[1] ?? 'localhost';
  return {
    mode: 'smtp',
    async deliver(tx, message) {
      if (message.channel !== 'email') return deliverToDevMailbox(tx, message);
      await mailer.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The same on every attempt, so a message resent after a lost acknowledgement is a recognisable duplicate.
        ...(message.messageId ? { messageId: `<${message.messageId}@${domain}>` } : {}),
      });
    },
    async verify() {
      await mailer.verify();
    },
    close() {
      mailer.close();
    },
  };
}
