import type { Tx } from '../db/database.ts';

export interface OutgoingMail {
  tenantId: string | null;
  recipient: string;
  subject: string;
  body: string;
}

/**
 * Development delivery: mail lands in the dev_mailbox table, readable by the tenant it belongs to.
 * SMTP delivery comes with the messaging module and replaces this in staging and production.
 */
export async function deliverToDevMailbox(tx: Tx, mail: OutgoingMail): Promise<void> {
  await tx
    .insertInto('dev_mailbox')
    .values({ tenant_id: mail.tenantId, recipient: mail.recipient, subject: mail.subject, body: mail.body })
    .execute();
}
