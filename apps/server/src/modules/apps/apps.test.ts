import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform, type Running } from '../../start.ts';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from '../../../test/helpers.ts';

/** How soon a disabled application must be refused on another node (its cache TTL is 30 s). */
const PROPAGATION_LIMIT_MS = 1_000;
const KEY_FORMAT = /^tsv_app_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

type Inject = TestPlatform['app']['inject'];

describe('managed applications and their keys (FR-SYS-001..003)', () => {
  let t: TestPlatform;
  let nodeB: Running;
  let operator: Session;
  let acme: string;

  const event = (tenantId = acme) => ({ idempotency_id: randomUUID(), tenant_id: tenantId, type: 'api.calls', quantity: 1, occurred_at: new Date().toISOString() });
  /** A call on an `app:billing:write` route with the given headers, on node A unless told. */
  const callWith = (headers: Record<string, string>, inject: Inject = t.app.inject.bind(t.app)) =>
    inject({ method: 'POST', url: '/v1/apps/billing-events', headers, payload: { events: [event()] } });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  async function register(body: Record<string, unknown> = {}) {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/platform/apps',
      headers: operator.headers,
      payload: { name: 'Billing bridge', environment: 'production', owner: 'Team-Billing@Example.com', ...body },
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as { id: string; name: string; environment: string; owner: string; status: string; created_at: string };
  }

  async function issue(appId: string, body: Record<string, unknown> = { scopes: ['billing:write'] }) {
    const response = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${appId}/keys`, headers: operator.headers, payload: body });
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as { id: string; prefix: string; secret: string; scopes: string[]; tenant_ids: string[] | null; expires_at: string | null };
  }

  async function platformActions(resourceId: string): Promise<string[]> {
    const rows = await t.db.owner.selectFrom('audit_events').select('action').where('tenant_id', 'is', null).where('resource_id', '=', resourceId).orderBy('seq').execute();
    return rows.map((row) => row.action);
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    // A second node on the same database: its own key cache and, on PostgreSQL, its own LISTEN connection.
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    operator = await t.login('operator@demo.test');
    acme = t.tenants.acme!.id;
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
  });

  test('registration answers the contract, lists and reads back; bad input is a 400 that stores nothing; tenant users are refused', async () => {
    const created = await register();
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { name: created.name, environment: created.environment, owner: created.owner, status: created.status },
      { name: 'Billing bridge', environment: 'production', owner: 'team-billing@example.com', status: 'active' },
    );
    assert.ok(!Number.isNaN(Date.parse(created.created_at)));

    const read = await t.app.inject({ method: 'GET', url: `/v1/platform/apps/${created.id}`, headers: operator.headers });
    assert.equal(read.statusCode, 200, read.body);
    assert.deepEqual(read.json(), created);
    const list = await t.app.inject({ method: 'GET', url: '/v1/platform/apps?limit=200', headers: operator.headers });
    assert.ok((list.json().items as { id: string }[]).some((a) => a.id === created.id));
    const missing = await t.app.inject({ method: 'GET', url: `/v1/platform/apps/${randomUUID()}`, headers: operator.headers });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(await platformActions(created.id), ['application.registered']);

    const before = await t.db.owner.selectFrom('applications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    for (const payload of [
      { name: 'X', environment: 'prod', owner: 'a@b.co' },
      { name: 'X', environment: 'staging', owner: 'not an email' },
      { name: '', environment: 'staging', owner: 'a@b.co' },
      { name: 'X', environment: 'staging', owner: 'a@b.co', status: 'disabled' },
    ]) {
      const bad = await t.app.inject({ method: 'POST', url: '/v1/platform/apps', headers: operator.headers, payload });
      assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      assert.equal(bad.json().type, '/problems/validation');
    }
    const after = await t.db.owner.selectFrom('applications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n));

    const owner = await t.login('owner@acme.demo.test', 'acme');
    const refused = await t.app.inject({ method: 'POST', url: '/v1/platform/apps', headers: owner.headers, payload: { name: 'X', environment: 'staging', owner: 'a@b.co' } });
    assert.equal(refused.statusCode, 403);
  });

  test('a key is shown once, stored only as the SHA-256 of its secret, and works as Bearer or X-API-Key', async () => {
    const app = await register();
    const key = await issue(app.id);
    const match = KEY_FORMAT.exec(key.secret);
    assert.ok(match, key.secret);
    assert.equal(match[1], key.prefix);
    assert.deepEqual(key.scopes, ['billing:write']);
    assert.equal(key.tenant_ids, null);

    const stored = await t.db.owner.selectFrom('application_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
    assert.equal(stored.secret_hash, createHash('sha256').update(match[2]!).digest('hex'));
    assert.ok(!JSON.stringify(stored).includes(match[2]!), 'the secret itself is stored nowhere');

    const listed = await t.app.inject({ method: 'GET', url: `/v1/platform/apps/${app.id}/keys`, headers: operator.headers });
    assert.equal(listed.statusCode, 200, listed.body);
    const [entry] = listed.json().items as Record<string, unknown>[];
    assert.equal(entry!.id, key.id);
    assert.equal(entry!.status, 'active');
    assert.ok(!('secret' in entry!) && !('secret_hash' in entry!));
    assert.ok(!listed.body.includes(match[2]!));

    assert.equal((await callWith(bearer(key.secret))).statusCode, 200);
    assert.equal((await callWith({ 'x-api-key': key.secret })).statusCode, 200);
    // Last use is recorded (without holding up the request).
    await eventually(async () => (await t.db.owner.selectFrom('application_keys').select('last_used_at').where('id', '=', key.id).executeTakeFirstOrThrow()).last_used_at);
    assert.deepEqual(await platformActions(key.id), ['application.key_issued']);
  });

  test('every failure gets the same 401 (no key, malformed, wrong secret, unknown prefix, a user token); a missing scope is 403', async () => {
    const app = await register();
    const key = await issue(app.id);
    const flagsOnly = await issue(app.id, { scopes: ['flags:read'] });
    const wrongSecret = `${key.secret.slice(0, -4)}AAAA`;
    const unknownPrefix = key.secret.replace(key.prefix, 'zzzzzzzzzzzz');
    const userToken = (await t.login('owner@acme.demo.test', 'acme')).headers;

    const shapes = new Set<string>();
    for (const headers of [{} as Record<string, string>, bearer('not-a-key'), bearer(wrongSecret), bearer(unknownPrefix), { 'x-api-key': wrongSecret }, userToken]) {
      const response = await callWith(headers);
      assert.equal(response.statusCode, 401, `${JSON.stringify(headers)}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      const { correlation_id: _id, ...shape } = response.json() as Record<string, unknown>;
      shapes.add(JSON.stringify(shape));
    }
    assert.equal(shapes.size, 1, `the 401 answers differ: ${[...shapes].join(' | ')}`);

    const forbidden = await callWith(bearer(flagsOnly.secret));
    assert.equal(forbidden.statusCode, 403, forbidden.body);
    assert.equal(forbidden.json().type, '/problems/forbidden');
    const stored = await t.db.owner.selectFrom('billing_events').select('id').where('app_id', '=', app.id).execute();
    assert.equal(stored.length, 0, 'nothing was ingested by refused calls');
  });

  test('rotation: a new key works beside the old one; revoking the old one refuses it at once, the new one stands', async () => {
    const app = await register();
    const old = await issue(app.id);
    const fresh = await issue(app.id);
    assert.equal((await callWith(bearer(old.secret))).statusCode, 200);
    assert.equal((await callWith(bearer(fresh.secret))).statusCode, 200);

    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/platform/apps/${app.id}/keys/${old.id}`, headers: operator.headers });
    assert.equal(revoke.statusCode, 204, revoke.body);
    assert.equal((await callWith(bearer(old.secret))).statusCode, 401);
    assert.equal((await callWith(bearer(fresh.secret))).statusCode, 200);

    const again = await t.app.inject({ method: 'DELETE', url: `/v1/platform/apps/${app.id}/keys/${old.id}`, headers: operator.headers });
    assert.equal(again.statusCode, 204);
    const otherApp = await register({ name: 'Other' });
    const wrongApp = await t.app.inject({ method: 'DELETE', url: `/v1/platform/apps/${otherApp.id}/keys/${fresh.id}`, headers: operator.headers });
    assert.equal(wrongApp.statusCode, 404, 'a key is revoked only through its own application');
    assert.equal((await callWith(bearer(fresh.secret))).statusCode, 200);

    const keys = (await t.app.inject({ method: 'GET', url: `/v1/platform/apps/${app.id}/keys`, headers: operator.headers })).json().items as { id: string; status: string; revoked_at: string | null }[];
    assert.deepEqual(keys.map((k) => [k.id, k.status]), [[old.id, 'revoked'], [fresh.id, 'active']]);
    assert.deepEqual(await platformActions(old.id), ['application.key_issued', 'application.key_revoked']);
  });

  test('an expired key is refused; an expiry in the past, a bad scope or an unknown tenant is a 400', async () => {
    const app = await register();
    const key = await issue(app.id, { scopes: ['billing:write'], expires_at: new Date(Date.now() + 1_500).toISOString() });
    assert.equal((await callWith(bearer(key.secret))).statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    assert.equal((await callWith(bearer(key.secret))).statusCode, 401);
    const listed = (await t.app.inject({ method: 'GET', url: `/v1/platform/apps/${app.id}/keys`, headers: operator.headers })).json().items as { status: string }[];
    assert.equal(listed[0]!.status, 'expired');

    for (const payload of [
      { scopes: ['billing:write'], expires_at: new Date(Date.now() - 1000).toISOString() },
      { scopes: ['billing:admin'] },
      { scopes: [] },
      { scopes: ['flags:read'], tenant_ids: [randomUUID()] },
    ]) {
      const bad = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${app.id}/keys`, headers: operator.headers, payload });
      assert.equal(bad.statusCode, 400, `${JSON.stringify(payload)}: ${bad.body}`);
    }
    const count = await t.db.owner.selectFrom('application_keys').select('id').where('app_id', '=', app.id).execute();
    assert.equal(count.length, 1);
    const unknownApp = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${randomUUID()}/keys`, headers: operator.headers, payload: { scopes: ['flags:read'] } });
    assert.equal(unknownApp.statusCode, 404);
  });

  test('disabling an application refuses all its keys at once on both nodes; enabling restores them', async () => {
    const app = await register();
    const first = await issue(app.id);
    const second = await issue(app.id, { scopes: ['billing:write'], tenant_ids: [acme] });
    const onB = nodeB.app!.inject.bind(nodeB.app!);
    for (const key of [first, second]) {
      assert.equal((await callWith(bearer(key.secret))).statusCode, 200);
      assert.equal((await callWith(bearer(key.secret), onB)).statusCode, 200);
    }
    assert.ok(nodeB.services.apps.keys.size >= 2, 'node B now holds the keys in its cache');

    const disabled = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${app.id}/disable`, headers: operator.headers });
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal(disabled.json().status, 'disabled');
    assert.ok(disabled.json().disabled_at);
    assert.equal((await callWith(bearer(first.secret))).statusCode, 401, 'node A refuses at once');
    const since = performance.now();
    for (const key of [first, second]) {
      for (;;) {
        const response = await callWith(bearer(key.secret), onB);
        const elapsed = performance.now() - since;
        if (response.statusCode === 401) break;
        assert.equal(response.statusCode, 200, response.body);
        assert.ok(elapsed < PROPAGATION_LIMIT_MS, `node B still accepted the key after ${elapsed.toFixed(0)} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    const enabled = await t.app.inject({ method: 'POST', url: `/v1/platform/apps/${app.id}/enable`, headers: operator.headers });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().status, 'active');
    assert.equal((await callWith(bearer(first.secret))).statusCode, 200);
    await eventually(async () => (await callWith(bearer(second.secret), onB)).statusCode === 200, PROPAGATION_LIMIT_MS * 2);
    assert.deepEqual(await platformActions(app.id), ['application.registered', 'application.disabled', 'application.enabled']);
  });
});
