import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { requestHash } from './idempotency.ts';
import { createHttpServer, type App } from './server.ts';

type Response = Awaited<ReturnType<App['inject']>>;

function assertProblem(response: Response, status: number, type: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(response.json().type, type);
}

describe('Idempotency-Key on POST and PUT (FR-IDEM-001)', () => {
  let t: TestPlatform;
  let owner: Session;
  let member: Session;
  let operator: Session;
  let acme: string;
  let customers: string;
  const servers: App[] = [];

  const create = (session: Session, key: string | undefined, payload: object) =>
    t.app.inject({ method: 'POST', url: customers, headers: { ...session.headers, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload });

  async function customersNamed(name: string): Promise<string[]> {
    const rows = await t.db.owner.selectFrom('customers').select('id').where('tenant_id', '=', acme).where('name', '=', name).execute();
    return rows.map((row) => row.id);
  }

  async function createdEvents(id: string): Promise<number> {
    const rows = await t.db.owner.selectFrom('audit_events').select('id').where('action', '=', 'customer.created').where('resource_id', '=', id).execute();
    return rows.length;
  }

  /** A kernel-only server on the test platform's database with routes whose runs are counted. */
  async function server(env: Record<string, string> = {}) {
    const config = loadConfig({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', DATA_DIR: t.config.dataDir, PUBLIC_URL: t.config.publicUrl, ...env });
    const platform = t.running.platform;
    const { app } = await createHttpServer(config, createLogger('silent'), { db: t.db, tokens: platform.tokens, sessions: platform.sessions });
    const runs = { flaky: 0, missing: 0, slow: 0, plain: 0 };
    const declared = { access: 'authenticated' as const, requirements: ['FR-IDEM-001'] };
    app.post('/v1/idem/flaky', { config: declared }, async (_request, reply) => {
      if (++runs.flaky === 1) throw new Error('the first run fails');
      return reply.status(201).send({ run: runs.flaky });
    });
    app.post('/v1/idem/missing', { config: declared }, async (_request, reply) => {
      runs.missing++;
      return reply.status(404).type('application/problem+json').send({ type: '/problems/not-found', title: 'Not found', status: 404, correlation_id: 'x' });
    });
    app.put('/v1/idem/slow', { config: declared }, async () => {
      runs.slow++;
      await sleep(1_500);
      return { run: runs.slow };
    });
    app.post('/v1/idem/plain', { config: declared }, async (_request, reply) => reply.status(201).send({ run: ++runs.plain, id: randomUUID() }));
    app.post('/v1/idem/opted-out', { config: { ...declared, idempotency: false } }, async () => ({ id: randomUUID() }));
    await app.ready();
    servers.push(app);
    return { app, runs };
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    owner = await t.login('owner@acme.demo.test', 'acme');
    member = await t.login('member@acme.demo.test', 'acme');
    operator = await t.login('operator@demo.test');
    acme = t.tenants.acme!.id;
    customers = `/v1/tenants/${acme}/customers`;
  });
  after(async () => {
    for (const app of servers) await app.close().catch(() => undefined);
    await t?.close();
  });

  test('a retry with the same key and body replays the first answer; the change happens once', async () => {
    const key = randomUUID();
    const first = await create(owner, key, { name: 'Idem Replay', email: 'replay@example.com' });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotency-replayed'], undefined);
    // The same body with its keys in another order is the same request.
    const retry = await create(owner, key, { email: 'replay@example.com', name: 'Idem Replay' });
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotency-replayed'], 'true');
    assert.equal(retry.headers['content-type'], first.headers['content-type']);
    assert.deepEqual(retry.json(), first.json());
    assert.deepEqual(await customersNamed('Idem Replay'), [first.json().id]);
    assert.equal(await createdEvents(first.json().id), 1);

    // Without a key nothing is remembered: each request is new.
    assert.equal((await create(owner, undefined, { name: 'Idem Keyless' })).statusCode, 201);
    assert.equal((await create(owner, undefined, { name: 'Idem Keyless' })).statusCode, 201);
    assert.equal((await customersNamed('Idem Keyless')).length, 2);
  });

  test('the same key with another body, or on another route, is a 422 and changes nothing', async () => {
    const key = randomUUID();
    assert.equal((await create(owner, key, { name: 'Idem Original' })).statusCode, 201);
    assertProblem(await create(owner, key, { name: 'Idem Changed' }), 422, '/problems/idempotency-key-reused');
    const otherRoute = await t.app.inject({
      method: 'POST',
      url: `/v1/tenants/${acme}/orders`,
      headers: { ...owner.headers, 'idempotency-key': key },
      payload: { customer_id: randomUUID(), total_cents: 1, currency: 'USD' },
    });
    assertProblem(otherRoute, 422, '/problems/idempotency-key-reused');
    assert.deepEqual(await customersNamed('Idem Changed'), []);
    assert.equal((await customersNamed('Idem Original')).length, 1);
  });

  test('concurrent duplicates: one request runs, the others wait and get its answer', async () => {
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 8 }, () => create(owner, key, { name: 'Idem Concurrent' })));
    for (const response of responses) assert.equal(response.statusCode, 201, response.body);
    const ids = new Set(responses.map((response) => response.json().id as string));
    assert.equal(ids.size, 1, 'every duplicate got the one answer');
    assert.equal(responses.filter((response) => response.headers['idempotency-replayed'] === 'true').length, 7);
    const [id] = ids;
    assert.deepEqual(await customersNamed('Idem Concurrent'), [id]);
    assert.equal(await createdEvents(id!), 1);
  });

  test('keys belong to one principal: another user with the same key makes a request of its own', async () => {
    const key = randomUUID();
    const mine = await create(owner, key, { name: 'Idem Principal' });
    const theirs = await create(member, key, { name: 'Idem Principal' });
    assert.equal(mine.statusCode, 201);
    assert.equal(theirs.statusCode, 201, theirs.body);
    assert.equal(theirs.headers['idempotency-replayed'], undefined);
    assert.notEqual(theirs.json().id, mine.json().id);
  });

  test('4xx answers are kept and replayed; 5xx are not, so a retry runs again', async () => {
    const { app, runs } = await server();
    const post = (url: string, key: string) => app.inject({ method: 'POST', url, headers: { ...owner.headers, 'idempotency-key': key }, payload: { n: 1 } });

    const missingKey = randomUUID();
    assert.equal((await post('/v1/idem/missing', missingKey)).statusCode, 404);
    const replayed = await post('/v1/idem/missing', missingKey);
    assert.equal(replayed.statusCode, 404);
    assert.equal(replayed.headers['idempotency-replayed'], 'true');
    assert.equal(runs.missing, 1);

    const flakyKey = randomUUID();
    assertProblem(await post('/v1/idem/flaky', flakyKey), 500, '/problems/internal');
    const retried = await post('/v1/idem/flaky', flakyKey);
    assert.equal(retried.statusCode, 201, retried.body);
    assert.deepEqual(retried.json(), { run: 2 });
    assert.equal((await post('/v1/idem/flaky', flakyKey)).json().run, 2, 'the 201 is kept');
  });

  test('a request that timed out holds its key until the lease lapses; a crashed holder\'s lapsed lease is taken over', async () => {
    // The duplicate waits half the timeout before its 409: 1 s leaves it room on a busy machine.
    const { app, runs } = await server({ REQUEST_TIMEOUT_MS: '1000' });
    const key = randomUUID();
    const put = () => app.inject({ method: 'PUT', url: '/v1/idem/slow', headers: { ...owner.headers, 'idempotency-key': key }, payload: { n: 1 } });
    assertProblem(await put(), 503, '/problems/timeout');
    // The first run may still commit: a retry must not run beside it.
    const duplicate = await put();
    assertProblem(duplicate, 409, '/problems/idempotency-in-progress');
    assert.equal(duplicate.headers['retry-after'], '1');
    assert.equal(runs.slow, 1);
    await sleep(1_000);

    // A holder that died: its claim's lease has lapsed, so the retry runs.
    const crashedKey = randomUUID();
    const body = { n: 2 };
    await t.db.withWholeTenant(acme, (tx) =>
      sql`insert into idempotency_keys (tenant_id, principal, idempotency_key, request_hash, lease_id, locked_until, expires_at)
          select ${acme}, 'user:' || id, ${crashedKey}, ${requestHash('POST', '/v1/idem/plain', body)}, gen_random_uuid(),
                 now() - interval '1 second', now() + interval '1 day'
            from users where email = 'owner@acme.demo.test'`.execute(tx),
    );
    const retry = await app.inject({ method: 'POST', url: '/v1/idem/plain', headers: { ...owner.headers, 'idempotency-key': crashedKey }, payload: body });
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(runs.plain, 1);
  });

  test('keys expire after 24 hours; an expired key may be used again', async () => {
    const key = randomUUID();
    assert.equal((await create(owner, key, { name: 'Idem Expiring' })).statusCode, 201);
    const row = await t.db.owner
      .selectFrom('idempotency_keys')
      .select(['created_at', 'expires_at', 'status', 'response_status', 'tenant_id'])
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    assert.equal(row.expires_at.getTime() - row.created_at.getTime(), 24 * 3600 * 1000);
    assert.deepEqual([row.status, row.response_status, row.tenant_id], ['completed', 201, acme]);

    await t.db.owner.updateTable('idempotency_keys').set({ expires_at: new Date(Date.now() - 1000) }).where('idempotency_key', '=', key).execute();
    const reused = await create(owner, key, { name: 'Idem Expired Reuse' });
    assert.equal(reused.statusCode, 201, reused.body);
    assert.equal(reused.headers['idempotency-replayed'], undefined);
    assert.equal((await customersNamed('Idem Expired Reuse')).length, 1);
  });

  test('platform callers keep their keys with tenant_id null, which no tenant context can see', async () => {
    const { app, runs } = await server();
    const key = randomUUID();
    const post = () => app.inject({ method: 'POST', url: '/v1/idem/plain', headers: { ...operator.headers, 'idempotency-key': key }, payload: { n: 3 } });
    const first = await post();
    assert.equal(first.statusCode, 201, first.body);
    const replay = await post();
    assert.deepEqual(replay.json(), first.json());
    assert.equal(runs.plain, 1);

    const stored = await t.db.owner.selectFrom('idempotency_keys').select(['tenant_id', 'principal']).where('idempotency_key', '=', key).execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.tenant_id, null);
    assert.match(stored[0]!.principal, /^user:/);
    const seenBy = (tenantId: string) =>
      t.db.withWholeTenant(tenantId, (tx) => tx.selectFrom('idempotency_keys').select('id').where('idempotency_key', '=', key).execute());
    assert.deepEqual(await seenBy(acme), []);
    assert.deepEqual(await seenBy(t.tenants.globex!.id), []);
    assert.equal((await t.db.withPlatform((tx) => tx.selectFrom('idempotency_keys').select('id').where('idempotency_key', '=', key).execute())).length, 1);
  });

  test('a malformed key is a 400; public routes and routes that opt out ignore the header', async () => {
    for (const bad of ['has space', 'x'.repeat(256), 'naïve']) {
      const response = await create(owner, bad, { name: 'Idem Malformed' });
      assertProblem(response, 400, '/problems/bad-request');
    }
    assert.deepEqual(await customersNamed('Idem Malformed'), []);

    const key = randomUUID();
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'idempotency-key': key },
      payload: { email: 'member@acme.demo.test', password: 'wrong-password', tenant: 'acme' },
    });
    assert.equal(login.statusCode, 401);
    const { app } = await server();
    const optedOut = () => app.inject({ method: 'POST', url: '/v1/idem/opted-out', headers: { ...owner.headers, 'idempotency-key': key }, payload: {} });
    assert.notDeepEqual((await optedOut()).json(), (await optedOut()).json());
    const stored = await t.db.owner.selectFrom('idempotency_keys').select('id').where('idempotency_key', '=', key).execute();
    assert.deepEqual(stored, [], 'credentials and opted-out answers are never stored');
  });
});
