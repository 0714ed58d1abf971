import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { FlagsClient, FlagsHttpError, type FlagsDocument, type FlagStore } from './flags-client.ts';

const TENANT = '11111111-1111-4111-8111-111111111111';
const KEY = 'tsv_app_abcdefghijkl_secret';

/**
 * A local server that follows the delivery contract (ETag, 304, server-sent events): the client's
 * behaviour against the platform itself is tested in apps/server/src/modules/flags/delivery.test.ts.
 */
class ContractServer {
  server: Server = createServer((request, response) => this.#handle(request, response));
  url = '';
  document: FlagsDocument = { tenant_id: TENANT, flags: { 'new-dashboard': false, checkout: 'classic' }, switches: [] };
  etag = '"v1"';
  version = 1;
  /** How the stream answers: events, 404 (no stream support), or an open stream that never speaks. */
  streamMode: 'events' | 'missing' | 'silent' = 'events';
  streams = new Set<ServerResponse>();
  log: { path: string; ifNoneMatch?: string; lastEventId?: string; status: number }[] = [];

  async listen() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  change(flags: FlagsDocument['flags'], switches: FlagsDocument['switches'] = []) {
    this.document = { tenant_id: TENANT, flags, switches };
    this.etag = `"v${++this.version}"`;
    for (const stream of this.streams) stream.write(`event: flags\nid: ${this.etag}\ndata: ${JSON.stringify(this.document)}\n\n`);
  }

  /** Ends every open stream, as a server does when it shuts down. */
  endStreams() {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  #handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url!, 'http://x');
    const entry = {
      path: url.pathname,
      ...(request.headers['if-none-match'] ? { ifNoneMatch: String(request.headers['if-none-match']) } : {}),
      ...(request.headers['last-event-id'] ? { lastEventId: String(request.headers['last-event-id']) } : {}),
    };
    const reply = (status: number, headers: Record<string, string> = {}, body?: string) => {
      this.log.push({ ...entry, status });
      response.writeHead(status, headers).end(body);
    };
    if (request.headers.authorization !== `Bearer ${KEY}`) return reply(401);
    if (url.searchParams.get('tenant') !== TENANT) return reply(403);
    if (url.pathname === '/v1/apps/flags') {
      if (request.headers['if-none-match'] === this.etag) return reply(304, { etag: this.etag });
      return reply(200, { 'content-type': 'application/json', etag: this.etag }, JSON.stringify(this.document));
    }
    if (url.pathname === '/v1/apps/flags/stream') {
      if (this.streamMode === 'missing') return reply(404, { 'content-type': 'application/problem+json' }, '{}');
      this.log.push({ ...entry, status: 200 });
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      response.write('retry: 3000\n\n');
      if (this.streamMode === 'events' && request.headers['last-event-id'] !== this.etag) {
        response.write(`event: flags\nid: ${this.etag}\ndata: ${JSON.stringify(this.document)}\n\n`);
      }
      this.streams.add(response);
      response.on('close', () => this.streams.delete(response));
      return;
    }
    reply(404);
  }

  async close() {
    this.endStreams();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function until(check: () => boolean, timeoutMs = 3_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function memoryStore(): FlagStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, get: (key) => data.get(key) ?? null, set: (key, value) => void data.set(key, value) };
}

describe('FlagsClient (SDK) against the delivery contract', () => {
  let server: ContractServer;
  let client: FlagsClient | null = null;

  before(async () => {
    server = new ContractServer();
    await server.listen();
  });
  afterEach(() => {
    client?.stop();
    client = null;
    server.streamMode = 'events';
  });
  after(() => server.close());

  test('starts with the current flags, then follows pushed changes over the stream', async () => {
    const errors: unknown[] = [];
    client = new FlagsClient({ baseUrl: server.url, apiKey: KEY, tenant: TENANT, onError: (e) => errors.push(e) });
    assert.equal(client.isEnabled('new-dashboard', true), true, 'the fallback before anything is known');
    await client.start();
    assert.equal(client.isEnabled('new-dashboard', true), false);
    assert.equal(client.variant('checkout', 'x'), 'classic');
    assert.equal(client.variant('unknown', 'x'), 'x');
    assert.equal(client.etag, server.etag);
    await until(() => client!.mode === 'streaming' && server.streams.size === 1);
    // The stream was opened with the version already held: no duplicate first event.
    assert.equal(server.log.find((r) => r.path.endsWith('/stream'))?.lastEventId, '"v1"');

    const seen: FlagsDocument[] = [];
    client.subscribe((document) => seen.push(document));
    server.change({ 'new-dashboard': true, checkout: 'express' }, [{ name: 'messaging', scope: 'tenant', channel: 'sms' }]);
    await until(() => client!.isEnabled('new-dashboard'));
    assert.equal(client.variant('checkout', 'x'), 'express');
    assert.equal(client.isSwitchedOff('messaging', 'sms'), true);
    assert.equal(client.isSwitchedOff('messaging', 'email'), false);
    assert.equal(client.isSwitchedOff('ai'), false);
    assert.equal(seen.length, 1);
    assert.deepEqual(errors, []);

    client.stop();
    await until(() => server.streams.size === 0);
  });

  test('a closed stream is caught up by a conditional poll and reopened', async () => {
    client = new FlagsClient({ baseUrl: server.url, apiKey: KEY, tenant: TENANT });
    await client.start();
    await until(() => server.streams.size === 1);
    const from = server.log.length;
    server.endStreams();
    server.change({ 'new-dashboard': false, checkout: 'one-click' });
    await until(() => client!.variant('checkout', 'x') === 'one-click');
    await until(() => server.streams.size === 1 && client!.mode === 'streaming');
    const after = server.log.slice(from);
    assert.ok(after.some((r) => r.path === '/v1/apps/flags' && r.status === 200), 'caught up by a poll while the stream was down');
    assert.ok(after.some((r) => r.path.endsWith('/stream') && r.lastEventId === server.etag), 'reopened from the version it holds');
  });

  test('without a stream it polls, sending the ETag: unchanged flags cost a 304', async () => {
    server.streamMode = 'missing';
    client = new FlagsClient({ baseUrl: server.url, apiKey: KEY, tenant: TENANT, pollIntervalMs: 50 });
    await client.start();
    await until(() => client!.mode === 'polling');
    const from = server.log.length;
    await until(() => server.log.slice(from).filter((r) => r.status === 304).length >= 3);
    assert.ok(server.log.slice(from).every((r) => r.path === '/v1/apps/flags' && r.ifNoneMatch === server.etag), 'no more stream attempts; every poll is conditional');
    server.change({ 'new-dashboard': true, checkout: 'classic' });
    await until(() => client!.isEnabled('new-dashboard'));
  });

  test('a stream that goes silent is reopened', async () => {
    server.streamMode = 'silent';
    client = new FlagsClient({ baseUrl: server.url, apiKey: KEY, tenant: TENANT, streamIdleMs: 200 });
    await client.start();
    const from = server.log.length;
    await until(() => server.log.slice(from).filter((r) => r.path.endsWith('/stream')).length >= 2);
  });

  test('starts offline from the stored copy; without one, start fails', async () => {
    const store = memoryStore();
    client = new FlagsClient({ baseUrl: server.url, apiKey: KEY, tenant: TENANT, store });
    await client.start();
    client.stop();
    assert.ok(store.data.get(`tsv.flags.${TENANT}`), 'the copy was stored');

    const errors: unknown[] = [];
    const offline = new FlagsClient({ baseUrl: 'http://127.0.0.1:9', apiKey: KEY, tenant: TENANT, store, onError: (e) => errors.push(e) });
    await offline.start();
    assert.equal(offline.etag, server.etag);
    assert.equal(offline.variant('checkout', 'x'), server.document.flags.checkout);
    assert.ok(errors.length >= 1, 'the failed request is reported');
    offline.stop();

    const empty = new FlagsClient({ baseUrl: 'http://127.0.0.1:9', apiKey: KEY, tenant: TENANT });
    await assert.rejects(empty.start());
    assert.equal(empty.mode, 'stopped');
  });

  test('a refused key is an error with its status', async () => {
    const refused = new FlagsClient({ baseUrl: server.url, apiKey: 'tsv_app_wrong', tenant: TENANT });
    await assert.rejects(refused.start(), (error: FlagsHttpError) => error instanceof FlagsHttpError && error.status === 401);
  });
});
