import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FlagsClient } from '../../../../../packages/sdk/src/flags-client.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform } from '../../start.ts';

interface StreamEvent {
  event: string;
  id: string | null;
  data: string;
}

/** Reads a server-sent event stream with fetch, collecting its events until closed. */
async function openStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const events: StreamEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  const pump = (async () => {
    if (!response.ok || !response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: StreamEvent = { event: 'message', id: null, data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('data: ')) event.data += line.slice(6);
          }
          if (event.data) events.push(event);
        }
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return {
    response,
    events,
    comments,
    get ended() {
      return ended;
    },
    pump,
    close: () => controller.abort(),
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

describe('flag delivery to managed applications: ETag, SSE, key scope (FR-FLAG-002)', () => {
  let t: TestPlatform;
  let operator: Session;
  let acme: string;
  let globex: string;
  let base: string;
  /** Keys: acme only; every tenant; acme only without the flags scope. */
  let acmeKey: string;
  let everyKey: string;
  let noScopeKey: string;

  const op = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: operator.headers, ...(payload ? { payload } : {}) });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const deliver = (key: string, tenant: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `/v1/apps/flags?tenant=${tenant}`, headers: { ...bearer(key), ...headers } });

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    operator = await t.login('operator@demo.test');
    const application = await op('POST', '/v1/platform/apps', { name: 'Storefront', environment: 'production', owner: 'shop@example.com' });
    assert.equal(application.statusCode, 201, application.body);
    const issue = async (payload: object) => {
      const issued = await op('POST', `/v1/platform/apps/${application.json().id}/keys`, payload);
      assert.equal(issued.statusCode, 201, issued.body);
      return issued.json().secret as string;
    };
    acmeKey = await issue({ scopes: ['flags:read'], tenant_ids: [acme] });
    everyKey = await issue({ scopes: ['flags:read'] });
    noScopeKey = await issue({ scopes: ['billing:write'], tenant_ids: [acme] });
    assert.equal((await op('POST', '/v1/platform/flags', { key: 'new-dashboard', kind: 'boolean', default_value: false })).statusCode, 201);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(() => t?.close());

  test('the document carries a strong ETag; If-None-Match with it is a 304; a change gives a new one', async () => {
    const first = await deliver(acmeKey, acme);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), { tenant_id: acme, flags: { 'new-dashboard': false }, switches: [] });
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
    assert.equal(first.headers['cache-control'], 'private, no-cache');
    assert.match(String(first.headers.vary), /Authorization/);

    const again = await deliver(acmeKey, acme, { 'if-none-match': etag });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers['content-length'], undefined, 'no body, and no length claimed for one');
    assert.equal(again.headers.etag, etag);
    assert.equal((await deliver(acmeKey, acme, { 'if-none-match': `"stale", W/${etag}` })).statusCode, 304, 'a list, and a weak form, match');
    assert.equal((await deliver(acmeKey, acme, { 'if-none-match': '"stale"' })).statusCode, 200);

    assert.equal((await op('PUT', '/v1/platform/flags/new-dashboard/overrides', { tenant_id: acme, value: true })).statusCode, 200);
    const changed = await deliver(acmeKey, acme, { 'if-none-match': etag });
    assert.equal(changed.statusCode, 200);
    assert.equal(changed.json().flags['new-dashboard'], true);
    assert.notEqual(changed.headers.etag, etag);
    assert.equal((await deliver(acmeKey, acme, { 'if-none-match': String(changed.headers.etag) })).statusCode, 304);
  });

  test("the key's tenant scope decides: another tenant in the parameter is a 403 and a security event", async () => {
    const countAttempts = async () =>
      (
        await t.db.owner
          .selectFrom('audit_events')
          .select('id')
          .where('chain_id', '=', PLATFORM_CHAIN)
          .where('action', '=', 'security.cross_tenant_attempt')
          .where((eb) => eb(eb.ref('metadata', '->>').key('requested_tenant'), '=', globex))
          .execute()
      ).length;
    const before = await countAttempts();
    const refused = await deliver(acmeKey, globex);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().type, '/problems/forbidden');
    assert.doesNotMatch(refused.body, /new-dashboard/);
    assert.equal(await countAttempts(), before + 1);
    const stream = await fetch(`${base}/v1/apps/flags/stream?tenant=${globex}`, { headers: bearer(acmeKey) });
    assert.equal(stream.status, 403);
    await stream.body?.cancel();

    const anyTenant = await deliver(everyKey, globex);
    assert.equal(anyTenant.statusCode, 200);
    assert.deepEqual(anyTenant.json(), { tenant_id: globex, flags: { 'new-dashboard': false }, switches: [] }, "acme's override is not globex's");
    assert.equal((await deliver(everyKey, '00000000-0000-4000-8000-000000000000')).statusCode, 404);
    assert.equal((await deliver(everyKey, 'not-a-uuid')).statusCode, 400);
  });

  test('only application keys with flags:read are served', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/apps/flags?tenant=${acme}` })).statusCode, 401);
    const user = await t.login('owner@acme.demo.test', 'acme');
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/apps/flags?tenant=${acme}`, headers: user.headers })).statusCode, 401);
    assert.equal((await deliver(noScopeKey, acme)).statusCode, 403);
    const viaHeader = await t.app.inject({ method: 'GET', url: `/v1/apps/flags?tenant=${acme}`, headers: { 'x-api-key': acmeKey } });
    assert.equal(viaHeader.statusCode, 200);
  });

  test('the stream sends the document at once and every change within milliseconds; tripped switches included', async () => {
    const stream = await openStream(`${base}/v1/apps/flags/stream?tenant=${acme}`, bearer(acmeKey));
    try {
      assert.equal(stream.response.status, 200);
      assert.match(String(stream.response.headers.get('content-type')), /^text\/event-stream/);
      await until(() => stream.events.length === 1);
      const current = await deliver(acmeKey, acme);
      assert.deepEqual(stream.events[0], { event: 'flags', id: current.headers.etag, data: current.body });

      const started = performance.now();
      assert.equal((await op('PUT', '/v1/platform/flags/new-dashboard/overrides', { tenant_id: acme, value: false })).statusCode, 200);
      await until(() => stream.events.length === 2);
      const pushed = performance.now() - started;
      assert.equal(JSON.parse(stream.events[1]!.data).flags['new-dashboard'], false);

      // A change for another tenant sends nothing on this stream.
      assert.equal((await op('PUT', '/v1/platform/flags/new-dashboard/overrides', { tenant_id: globex, value: true })).statusCode, 200);
      assert.equal((await op('POST', '/v1/platform/kill-switches/trip', { name: 'ai', tenant_id: acme, reason: 'model incident' })).statusCode, 200);
      await until(() => stream.events.length === 3);
      assert.deepEqual(JSON.parse(stream.events[2]!.data).switches, [{ name: 'ai', scope: 'tenant', channel: null }]);
      assert.equal((await op('POST', '/v1/platform/kill-switches/reset', { name: 'ai', tenant_id: acme })).statusCode, 200);
      await until(() => stream.events.length === 4);
      console.log(`flag delivery (${t.db.backend}): override set -> SSE event on the stream in ${pushed.toFixed(1)} ms`);

      // Reconnecting with the current version: no event until something changes.
      const resumed = await openStream(`${base}/v1/apps/flags/stream?tenant=${acme}`, { ...bearer(acmeKey), 'last-event-id': stream.events[3]!.id! });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(resumed.events.length, 0);
      resumed.close();
    } finally {
      stream.close();
    }
  });

  test('a change made on another node reaches this node’s streams (NOTIFY)', async () => {
    const nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    const stream = await openStream(`${base}/v1/apps/flags/stream?tenant=${acme}`, bearer(acmeKey));
    try {
      await until(() => stream.events.length === 1);
      const started = performance.now();
      const set = await nodeB.app!.inject({ method: 'PUT', url: '/v1/platform/flags/new-dashboard/overrides', headers: operator.headers, payload: { tenant_id: acme, value: true } });
      assert.equal(set.statusCode, 200, set.body);
      await until(() => stream.events.length === 2, 2_000);
      console.log(`flag delivery (${t.db.backend}): override set on node B -> SSE event from node A in ${(performance.now() - started).toFixed(1)} ms`);
      assert.equal(JSON.parse(stream.events[1]!.data).flags['new-dashboard'], true);
    } finally {
      stream.close();
      await nodeB.stop();
    }
  });

  test('revoking the key or disabling the application ends its open streams at once', async () => {
    const application = (await op('POST', '/v1/platform/apps', { name: 'Kiosk', environment: 'production', owner: 'kiosk@example.com' })).json() as { id: string };
    const issue = async () => (await op('POST', `/v1/platform/apps/${application.id}/keys`, { scopes: ['flags:read'], tenant_ids: [acme] })).json() as { id: string; secret: string };
    const [revoked, kept] = [await issue(), await issue()];
    const first = await openStream(`${base}/v1/apps/flags/stream?tenant=${acme}`, bearer(revoked.secret));
    const second = await openStream(`${base}/v1/apps/flags/stream?tenant=${acme}`, bearer(kept.secret));
    try {
      await until(() => first.events.length === 1 && second.events.length === 1);
      assert.equal((await op('DELETE', `/v1/platform/apps/${application.id}/keys/${revoked.id}`)).statusCode, 204);
      await until(() => first.ended, 2_000);
      assert.equal(second.ended, false, 'another key of the same application keeps its stream');
      assert.equal((await op('POST', `/v1/platform/apps/${application.id}/disable`)).statusCode, 200);
      await until(() => second.ended, 2_000);
    } finally {
      first.close();
      second.close();
    }
  });

  test('shutting a node down ends its open streams instead of waiting for them', async () => {
    const nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    await nodeB.app!.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(nodeB.app!.server.address() as AddressInfo).port}`;
    const stream = await openStream(`${url}/v1/apps/flags/stream?tenant=${acme}`, bearer(acmeKey));
    await until(() => stream.events.length === 1);
    const started = performance.now();
    await nodeB.stop();
    await until(() => stream.ended, 2_000);
    assert.ok(performance.now() - started < 2_000, 'shutdown did not wait for the stream');
  });

  test('the SDK client follows the platform over the stream, and by polling with 304s', async () => {
    const streaming = new FlagsClient({ baseUrl: base, apiKey: acmeKey, tenant: acme });
    const polling = new FlagsClient({ baseUrl: base, apiKey: acmeKey, tenant: acme, stream: false, pollIntervalMs: 100 });
    try {
      await streaming.start();
      await polling.start();
      const value = streaming.isEnabled('new-dashboard');
      assert.equal(polling.isEnabled('new-dashboard'), value);
      await until(() => streaming.mode === 'streaming');
      assert.equal((await op('PUT', '/v1/platform/flags/new-dashboard/overrides', { tenant_id: acme, value: !value })).statusCode, 200);
      await until(() => streaming.isEnabled('new-dashboard') === !value && polling.isEnabled('new-dashboard') === !value);
      assert.equal(streaming.etag, polling.etag);

      const foreign = new FlagsClient({ baseUrl: base, apiKey: acmeKey, tenant: globex });
      await assert.rejects(foreign.start(), (error: { status?: number }) => error.status === 403);
    } finally {
      streaming.stop();
      polling.stop();
    }
  });
});
