import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { buildTestPlatform, eventually, type TestPlatform } from '../../../test/helpers.ts';
import { createLogger } from '../log.ts';
import { prepareJobQueue } from '../jobs/jobs.ts';
import { notificationJob } from './notify.ts';
import { createSmtpTransport, devMailboxTransport } from './transports.ts';

/**
 * A real SMTP server on 127.0.0.1 (random port, no authentication) keeping every parsed message.
 * `loseAckOnce` names recipients whose first message is received whole, after which the connection
 * drops before the server acknowledges it (the sender cannot tell whether it arrived).
 */
async function startSmtpServer(options: { refuse?: (recipient: string) => boolean; loseAckOnce?: (recipient: string) => boolean } = {}) {
  const received: ParsedMail[] = [];
  const sockets = new Map<number, Socket>();
  const ackLost = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (options.refuse?.(address.address)) return callback(new Error('mailbox unavailable'));
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          received.push(parsed);
          const recipient = session.envelope.rcptTo[0]?.address ?? '';
          if (options.loseAckOnce?.(recipient) && !ackLost.has(recipient)) {
            ackLost.add(recipient);
            sockets.get(session.remotePort)?.destroy();
            return;
          }
          callback();
        })
        .catch(callback);
    },
  });
  server.server.on('connection', (socket: Socket) => {
    if (socket.remotePort !== undefined) sockets.set(socket.remotePort, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('notification port and SMTP delivery (FR-VER-001, FR-OPS health)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestPlatform;

  before(async () => {
    smtp = await startSmtpServer({ loseAckOnce: (recipient) => recipient.startsWith('ack-lost') });
    t = await buildTestPlatform({ SMTP_URL: smtp.url, SMTP_FROM: 'Acme Platform <no-reply@platform.example>' });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  const to = (message: ParsedMail) => (Array.isArray(message.to) ? message.to : [message.to]).flatMap((a) => a?.value.map((v) => v.address) ?? []);

  test('a password reset mail goes out through SMTP with its link, from SMTP_FROM; nothing lands in the dev mailbox', async () => {
    const requested = await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'member@acme.demo.test', tenant: 'acme' } });
    assert.equal(requested.statusCode, 202, requested.body);
    const mail = await eventually(async () => smtp.received.find((m) => m.subject === 'Reset your password' && to(m).includes('member@acme.demo.test')));
    assert.match(mail.text ?? '', new RegExp(`http://localhost:3000/#/reset-password\\?token=${t.tenants.acme!.id}\\.`));
    assert.equal(mail.from?.value[0]?.address, 'no-reply@platform.example');
    const kept = await t.db.owner.selectFrom('dev_mailbox').select('id').where('recipient', '=', 'member@acme.demo.test').execute();
    assert.deepEqual(kept, []);
  });

  test('staff mail (no tenant) goes the same way, run in the platform plane', async () => {
    await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'operator@demo.test' } });
    const mail = await eventually(async () => smtp.received.find((m) => to(m).includes('operator@demo.test')));
    assert.match(mail.text ?? '', /#\/reset-password\?token=platform\./);
  });

  test('a message whose acknowledgement was lost is sent again with the same Message-ID (FR-VER-001)', async () => {
    // Retries start after a second instead of 30 s, so that the test need not wait for the backoff.
    await prepareJobQueue(t.db, [{ ...notificationJob(devMailboxTransport), retryDelaySeconds: 0 }]);
    await t.addUser('acme', 'ack-lost@acme.example', 'member');
    const requested = await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'ack-lost@acme.example', tenant: 'acme' } });
    assert.equal(requested.statusCode, 202, requested.body);
    const copies = await eventually(async () => {
      const found = smtp.received.filter((m) => to(m).includes('ack-lost@acme.example'));
      return found.length >= 2 ? found : null;
    }, 30_000);
    assert.match(copies[0]!.messageId ?? '', /^<[0-9a-f-]{36}@platform\.example>$/);
    assert.equal(copies[1]!.messageId, copies[0]!.messageId, 'the retry is the same message');
    assert.equal(copies[1]!.text, copies[0]!.text);
  });

  test('SMS and WhatsApp codes land in the dev mailbox with their channel until their adapters exist', async () => {
    await t.addUser('acme', 'texted@acme.example', 'member');
    const session = await t.login('texted@acme.example', 'acme');
    const set = await t.app.inject({ method: 'PUT', url: '/v1/me/phone', headers: session.headers, payload: { phone: '+14155550111', channel: 'sms' } });
    assert.equal(set.statusCode, 200, set.body);
    const row = await eventually(() => t.db.owner.selectFrom('dev_mailbox').selectAll().where('recipient', '=', '+14155550111').executeTakeFirst());
    assert.equal(row.channel, 'sms');
    assert.equal(row.tenant_id, t.tenants.acme!.id);
  });

  test("the messaging kill switch holds a channel's messages back (deferred, not dropped); other channels still go", async () => {
    const operator = await t.login('operator@demo.test');
    const acme = t.tenants.acme!.id;
    const trip = await t.app.inject({ method: 'POST', url: '/v1/platform/kill-switches/trip', headers: operator.headers, payload: { name: 'messaging', tenant_id: acme, channel: 'whatsapp', reason: 'provider down' } });
    assert.equal(trip.statusCode, 200, trip.body);
    await eventually(async () => !t.running.platform.switches.isOpen('messaging', { tenantId: acme, channel: 'whatsapp' }));
    await t.addUser('acme', 'held@acme.example', 'member');
    const session = await t.login('held@acme.example', 'acme');
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/me/phone', headers: session.headers, payload: { phone: '+14155550122', channel: 'whatsapp' } })).statusCode, 200);
    await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'held@acme.example', tenant: 'acme' } });
    await eventually(async () => smtp.received.find((m) => to(m).includes('held@acme.example')));
    const deferred = await eventually(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = 'notification' and state = 'created' and start_after > now() and data->>'to' = '+14155550122'`.execute(t.db.owner);
      return rows[0]!.n > 0 ? rows[0]!.n : null;
    });
    assert.equal(deferred, 1, 'the WhatsApp message waits in the queue');
    assert.equal((await t.db.owner.selectFrom('dev_mailbox').select('id').where('recipient', '=', '+14155550122').execute()).length, 0);
    await t.app.inject({ method: 'POST', url: '/v1/platform/kill-switches/reset', headers: operator.headers, payload: { name: 'messaging', tenant_id: acme, channel: 'whatsapp' } });
  });

  test('health reports mail mode smtp with its connection check; a dead server is down and makes the platform degraded', async () => {
    const operator = await t.login('operator@demo.test');
    const report = (await t.app.inject({ method: 'GET', url: '/v1/platform/health', headers: operator.headers })).json();
    assert.equal(report.dependencies.mail.mode, 'smtp');
    assert.equal(report.dependencies.mail.status, 'ok', JSON.stringify(report.dependencies.mail));
    assert.ok(report.dependencies.queue.queues.some((q: { name: string }) => q.name === 'notification'));

    const dead = createSmtpTransport({ url: 'smtp://127.0.0.1:1', from: 'x@example.com', log: createLogger('silent') });
    try {
      await assert.rejects(dead.verify());
    } finally {
      dead.close();
    }
  });

  test('a refused message throws, so the queue retries it', async () => {
    const refusing = await startSmtpServer({ refuse: (recipient) => recipient.startsWith('bounce') });
    const transport = createSmtpTransport({ url: refusing.url, from: 'no-reply@platform.example', log: createLogger('silent') });
    try {
      const message = { tenantId: null, channel: 'email' as const, subject: 'Hello', text: 'Hi', html: null, messageId: null };
      await t.db.withPlatform((tx) => transport.deliver(tx, { ...message, to: 'ok@example.com' }));
      assert.equal(refusing.received.length, 1);
      await assert.rejects(t.db.withPlatform((tx) => transport.deliver(tx, { ...message, to: 'bounce@example.com' })));
    } finally {
      transport.close();
      await refusing.close();
    }
  });
});
