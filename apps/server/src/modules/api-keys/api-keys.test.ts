import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform, type Running } from '../../start.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';

/** FR-AUTH-012: tenant API keys — scopes within the creator's rights, hashed secrets, rotation, revocation on every node. */
describe('tenant API keys', () => {
  let t: TestPlatform;
  let nodeB: Running;
  let owner: Session;
  let acme: string;
  let globex: string;

  const base = () => `/v1/tenants/${acme}/api-keys`;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  async function createKey(session: Session, body: Record<string, unknown>) {
    const response = await t.app.inject({ method: 'POST', url: base(), headers: session.headers, payload: body });
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as { id: string; secret: string; prefix: string; scopes: string[]; expires_at: string | null };
  }
  const customers = (headers: Record<string, string>, app = t.app) => app.inject({ method: 'GET', url: `/v1/tenants/${acme}/customers`, headers });

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
  });

  test('a key is created with its secret once, stored hashed, and listed without it', async () => {
    const key = await createKey(owner, { name: 'ERP sync', scopes: ['customers.read'] });
    assert.match(key.secret, new RegExp(`^tsv_key_${key.prefix}_[A-Za-z0-9_-]{43}$`));
    const stored = await t.db.owner.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.secret_hash, key.secret.split('_').at(-1));
    assert.ok(!JSON.stringify(stored).includes(key.secret.slice(21)), 'the secret is not stored');
    const list = await t.app.inject({ method: 'GET', url: base(), headers: owner.headers });
    assert.equal(list.statusCode, 200);
    const listed = (list.json() as { items: Record<string, unknown>[] }).items.find((item) => item.id === key.id)!;
    assert.equal(listed.secret, undefined);
    assert.equal(listed.last_used_at, null);

    assert.equal((await customers(bearer(key.secret))).statusCode, 200);
    const used = await t.db.owner.selectFrom('api_keys').select('last_used_at').where('id', '=', key.id).executeTakeFirstOrThrow();
    for (let i = 0; i < 50 && !used.last_used_at; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      used.last_used_at = (await t.db.owner.selectFrom('api_keys').select('last_used_at').where('id', '=', key.id).executeTakeFirstOrThrow()).last_used_at;
    }
    assert.ok(used.last_used_at, 'the last use is recorded');
    const audit = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', key.id).execute();
    assert.deepEqual(audit.map((row) => row.action), ['api_key.created']);
  });

  test('a key works within its scopes, by bearer or X-API-Key, and is refused beyond them', async () => {
    const key = await createKey(owner, { name: 'reader', scopes: ['customers.read'] });
    assert.equal((await customers(bearer(key.secret))).statusCode, 200);
    assert.equal((await customers({ 'x-api-key': key.secret })).statusCode, 200);
    const write = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/customers`, headers: bearer(key.secret), payload: { name: 'X' } });
    assert.equal(write.statusCode, 403, write.body);
    const manage = await t.app.inject({ method: 'GET', url: base(), headers: bearer(key.secret) });
    assert.equal(manage.statusCode, 403);
    assert.equal((await customers(bearer(`${key.secret.slice(0, -1)}${key.secret.endsWith('A') ? 'B' : 'A'}`))).statusCode, 401, 'a wrong secret');
    assert.equal((await customers({ 'x-api-key': 'tsv_key_nonsense' })).statusCode, 401);
  });

  test('a key of tenant A on tenant B\'s path is refused as a tenant mismatch', async () => {
    const key = await createKey(owner, { name: 'cross', scopes: ['customers.read'] });
    const response = await t.app.inject({ method: 'GET', url: `/v1/tenants/${globex}/customers`, headers: bearer(key.secret) });
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /tenant-mismatch/);
  });

  test('scopes beyond the creator\'s permissions, or unknown ones, are refused at creation', async () => {
    await t.addUser('acme', 'keys-admin@acme.demo.test', 'admin');
    const admin = await t.login('keys-admin@acme.demo.test', 'acme');
    const beyond = await t.app.inject({ method: 'POST', url: base(), headers: admin.headers, payload: { name: 'x', scopes: ['customers.read', 'plan.manage'] } });
    assert.equal(beyond.statusCode, 403, beyond.body);
    assert.match(beyond.body, /plan\.manage/);
    const unknown = await t.app.inject({ method: 'POST', url: base(), headers: admin.headers, payload: { name: 'x', scopes: ['platform.tenants.read'] } });
    assert.equal(unknown.statusCode, 400, unknown.body);
    const count = await t.db.owner.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('name', '=', 'x').executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0);
  });

  test('a key stops granting what its creator lost', async () => {
    const adminId = await t.addUser('acme', 'keys-creator@acme.demo.test', 'admin');
    const admin = await t.login('keys-creator@acme.demo.test', 'acme');
    const key = await createKey(admin, { name: 'creator-bound', scopes: ['customers.read'] });
    assert.equal((await customers(bearer(key.secret))).statusCode, 200);

    const list = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/role-assignments?user_id=${adminId}`, headers: owner.headers });
    const [assignment] = (list.json() as { items: { id: string }[] }).items;
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/tenants/${acme}/role-assignments/${assignment!.id}`, headers: owner.headers });
    assert.equal(removed.statusCode, 204, removed.body);
    // The role change reaches the key cache by NOTIFY, within a second.
    const started = performance.now();
    while ((await customers(bearer(key.secret))).statusCode !== 403) {
      assert.ok(performance.now() - started < 1_000, 'the key still granted what its creator lost');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }

  });

  test('an expired key gets 401', async () => {
    const key = await createKey(owner, { name: 'short', scopes: ['customers.read'], expires_at: new Date(Date.now() + 60_000).toISOString() });
    await t.db.owner.updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', key.id).execute();
    assert.equal((await customers(bearer(key.secret))).statusCode, 401);
    const past = await t.app.inject({ method: 'POST', url: base(), headers: owner.headers, payload: { name: 'past', scopes: ['customers.read'], expires_at: new Date(Date.now() - 1_000).toISOString() } });
    assert.equal(past.statusCode, 400);
  });

  test('rotation issues a new key and keeps the old one valid for the overlap only', async () => {
    const old = await createKey(owner, { name: 'rotating', scopes: ['customers.read'] });
    assert.equal((await customers(bearer(old.secret))).statusCode, 200);
    const rotated = await t.app.inject({ method: 'POST', url: `${base()}/${old.id}/rotate`, headers: owner.headers, payload: {} });
    assert.equal(rotated.statusCode, 201, rotated.body);
    const next = rotated.json() as { id: string; secret: string; name: string; scopes: string[] };
    assert.equal(next.name, 'rotating');
    assert.deepEqual(next.scopes, ['customers.read']);
    assert.notEqual(next.secret, old.secret);
    assert.equal((await customers(bearer(old.secret))).statusCode, 200, 'the old key stands during the overlap');
    assert.equal((await customers(bearer(next.secret))).statusCode, 200);
    const stored = await t.db.owner.selectFrom('api_keys').select(['expires_at', 'replaced_by']).where('id', '=', old.id).executeTakeFirstOrThrow();
    assert.equal(stored.replaced_by, next.id);
    const overlapMs = new Date(stored.expires_at!).getTime() - Date.now();
    assert.ok(overlapMs > 23 * 3600_000 && overlapMs <= 24 * 3600_000, `default overlap 24 h, got ${overlapMs} ms`);
    assert.equal((await t.app.inject({ method: 'POST', url: `${base()}/${old.id}/rotate`, headers: owner.headers, payload: {} })).statusCode, 409, 'rotated once');

    const again = await t.app.inject({ method: 'POST', url: `${base()}/${next.id}/rotate`, headers: owner.headers, payload: { overlap_seconds: 0 } });
    assert.equal(again.statusCode, 201);
    // No overlap: the old key ends at once, on every node by NOTIFY.
    const started = performance.now();
    while ((await customers(bearer(next.secret))).statusCode !== 401) {
      assert.ok(performance.now() - started < 1_000, 'the rotated key still worked without overlap');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const tooLong = await t.app.inject({ method: 'POST', url: `${base()}/${(again.json() as { id: string }).id}/rotate`, headers: owner.headers, payload: { overlap_seconds: 8 * 24 * 3600 } });
    assert.equal(tooLong.statusCode, 400);
    const actions = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', old.id).execute();
    assert.ok(actions.some((row) => row.action === 'api_key.rotated'));
  });

  test('revocation on node A refuses the key on node B within a second', async () => {
    const key = await createKey(owner, { name: 'revoked', scopes: ['customers.read'] });
    assert.equal((await customers(bearer(key.secret), nodeB.app!)).statusCode, 200, 'node B caches the key');
    const started = performance.now();
    const revoked = await t.app.inject({ method: 'DELETE', url: `${base()}/${key.id}`, headers: owner.headers });
    assert.equal(revoked.statusCode, 204, revoked.body);
    for (;;) {
      const response = await customers(bearer(key.secret), nodeB.app!);
      if (response.statusCode === 401) break;
      assert.equal(response.statusCode, 200);
      assert.ok(performance.now() - started < 1_000, 'node B still accepted the revoked key');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${base()}/${key.id}`, headers: owner.headers })).statusCode, 409);
    const audit = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', key.id).where('action', '=', 'api_key.revoked').execute();
    assert.equal(audit.length, 1);
  });
});
