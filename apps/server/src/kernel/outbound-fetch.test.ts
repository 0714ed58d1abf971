import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createOutboundFetch, isPublicAddress, OutboundError, type OutboundRefusal } from './outbound-fetch.ts';

async function refused(promise: Promise<unknown>, reason: OutboundRefusal) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OutboundError, `expected an OutboundError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

describe('outbound fetch: the SSRF guard of calls to configured URLs (FR-AUTH-003, CON-SEC-009)', () => {
  let server: http.Server;
  let base: string;
  const guarded = createOutboundFetch({ allowHosts: [] });
  let local: ReturnType<typeof createOutboundFetch>;

  before(async () => {
    server = http.createServer((request, response) => {
      if (request.url === '/redirect') return void response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (request.url === '/big') return void response.writeHead(200, { 'content-length': String(2 * 1_048_576) }).end(Buffer.alloc(2 * 1_048_576));
      if (request.url === '/big-chunked') {
        response.writeHead(200);
        for (let i = 0; i < 20; i += 1) response.write(Buffer.alloc(100_000));
        return void response.end();
      }
      if (request.url === '/slow') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"a":');
        return; // never finishes
      }
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: request.method, body })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    local = createOutboundFetch({ allowHosts: ['127.0.0.1'], timeoutMs: 300, maxBytes: 1_048_576 });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('addresses: only public unicast is public, whatever the spelling', () => {
    for (const address of ['169.254.169.254', '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', '127.0.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      assert.equal(isPublicAddress(address), false, address);
    }
    for (const address of ['93.184.216.34', '2606:4700::1111', '::ffff:93.184.216.34']) assert.equal(isPublicAddress(address), true, address);
  });

  test('the cloud metadata address is refused', () => refused(guarded('https://169.254.169.254/latest/meta-data/'), 'address'));
  test('a private address is refused', () => refused(guarded('https://10.0.0.1/.well-known/openid-configuration'), 'address'));
  test('IPv6 loopback is refused', () => refused(guarded('https://[::1]/'), 'address'));
  test('the unspecified address is refused', () => refused(guarded('https://0.0.0.0/'), 'address'));
  test('IPv4-mapped loopback is refused', () => refused(guarded('https://[::ffff:127.0.0.1]/'), 'address'));
  test('loopback written as a decimal number is refused', () => refused(guarded('https://2130706433/'), 'address'));
  test('a name that resolves to loopback is refused', () => refused(guarded('https://localhost/'), 'address'));
  test('plain http is refused for a host that is not allow-listed', async () => {
    await refused(guarded('http://example.com/'), 'scheme');
    await refused(guarded(`${base}/`), 'scheme');
    await refused(guarded('file:///etc/passwd'), 'scheme');
  });

  test('an allow-listed host is reached, with a method and a body', async () => {
    const response = await local(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ a: 'b' }) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { method: 'POST', body: 'a=b' });
  });

  test('a redirect is not followed', () => refused(local(`${base}/redirect`), 'redirect'));
  test('an oversized body is refused, declared or not', async () => {
    await refused(local(`${base}/big`), 'too_large');
    await refused(local(`${base}/big-chunked`), 'too_large');
  });
  test('a body that never ends times out', () => refused(local(`${base}/slow`), 'timeout'));
});
