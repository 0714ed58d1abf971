import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from './log.ts';

/** A logger whose output is collected in memory (pino accepts any `{ write(line) }`). */
function capture(level = 'trace') {
  const lines: string[] = [];
  const log = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { log, output: () => lines.join(''), records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const SECRETS = ['Hunter2-Secret!', 'eyJhbGciOiJFZERTQSJ9.payload.signature', 'refresh-secret-value', 'platform.opaque-secret'];
const ADDRESSES = ['ada@example.com', 'grace.hopper@navy.example.org', 'owner@acme.demo.test'];

describe('log redaction', () => {
  test('passwords, tokens and the authorization header never reach the output, at any depth', () => {
    const { log, output } = capture();
    log.info({ password: SECRETS[0] }, 'top-level password');
    log.info({ body: { password: SECRETS[0], new_password: SECRETS[0] } }, 'nested password');
    log.info({ access_token: SECRETS[1], refresh_token: SECRETS[2] }, 'top-level tokens');
    log.info({ response: { access_token: SECRETS[1], refresh_token: SECRETS[2], token: SECRETS[3] } }, 'nested tokens');
    log.info({ req: { method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${SECRETS[1]}`, cookie: `sid=${SECRETS[2]}` } } }, 'request');
    const text = output();
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `secret leaked: ${secret}`);
    assert.ok(!text.includes('Bearer'), 'the authorization header leaked');
    // Redaction keeps the key, so the line still says what was there.
    assert.match(text, /"password":"\[redacted\]"/);
    assert.match(text, /"authorization":"\[redacted\]"/);
  });

  test('an error whose message or stack carries an address is logged with the address masked', () => {
    const { log, output, records } = capture();
    log.error({ err: new Error(`no mailbox ${ADDRESSES[0]}`) }, 'delivery failed');
    log.error({ err: `plain text about ${ADDRESSES[1]}` }, 'string error');
    const text = output();
    for (const address of ADDRESSES) assert.ok(!text.includes(address), `address leaked: ${address}`);
    const [first] = records();
    assert.equal((first!.err as { message: string }).message, 'no mailbox [email]');
  });

  test('email addresses are masked in messages and in fields', () => {
    const { log, output, records } = capture();
    log.info(`login failed for ${ADDRESSES[0]}`);
    log.warn('mail to %s bounced', ADDRESSES[1]);
    log.info({ email: ADDRESSES[2] }, 'top-level email field');
    log.info({ user: { email: ADDRESSES[0], phone: '+1 555 0100' } }, 'nested email field');
    log.child({ email: ADDRESSES[1] }).info('child logger bound to an address');
    const text = output();
    for (const address of ADDRESSES) assert.ok(!text.includes(address), `address leaked: ${address}`);
    assert.ok(!text.includes('555 0100'), 'phone leaked');
    assert.equal(records()[0]!.msg, 'login failed for [email]');
  });

  test('ordinary fields and messages pass through unchanged', () => {
    const { log, records } = capture();
    log.info({ tenantId: 't-1', route: '/v1/me', status: 200 }, 'request');
    const [record] = records();
    assert.equal(record!.msg, 'request');
    assert.equal(record!.tenantId, 't-1');
    assert.equal(record!.status, 200);
    assert.equal(record!.service, 'tsv-baseline');
  });

  test('the level is honoured', () => {
    const { log, output } = capture('warn');
    log.info('quiet');
    log.warn('loud');
    assert.ok(!output().includes('quiet'));
    assert.ok(output().includes('loud'));
  });
});
