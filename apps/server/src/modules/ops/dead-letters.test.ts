import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { createJobQueue, prepareJobQueue, type JobDefinition, type JobQueue } from '../../kernel/jobs/jobs.ts';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform, type Running } from '../../start.ts';

interface Listed {
  id: string;
  queue: string;
  tenant_id: string | null;
  enqueued_by: string | null;
  error: string | null;
  attempts: number;
  created_at: string;
  failed_at: string;
  payload_keys: string[];
  replayable: boolean;
}

describe('dead letters: listed and replayed by operators (FR-TEN-007, NFR-OPS-001)', () => {
  let t: TestPlatform;
  let node: Running;
  let worker: JobQueue;
  let operator: Session;
  let acme: string;
  let globex: string;
  let providerDown = true;
  /** The tenant each run of the probe saw, by correlation id. */
  const runs = new Map<string, string>();

  const probe: JobDefinition = {
    name: 'replay-probe',
    retryLimit: 1,
    retryDelaySeconds: 0,
    async handle(tx, data) {
      if (providerDown) throw new Error('the provider is down');
      const { rows } = await sql<{ tenant: string }>`select current_setting('app.tenant_id') as tenant`.execute(tx);
      runs.set(data.correlation_id, rows[0]!.tenant);
    },
  };

  const list = async (query = '') => {
    const response = await node.app!.inject({ method: 'GET', url: `/v1/platform/dead-letters${query}`, headers: operator.headers });
    assert.equal(response.statusCode, 200, response.body);
    return { body: response.body, page: response.json() as { items: Listed[]; next_cursor: string | null } };
  };
  const replay = (id: string, headers = operator.headers) => node.app!.inject({ method: 'POST', url: `/v1/platform/dead-letters/${id}/replay`, headers });
  /** Enqueues a probe job in acme's transaction whose payload names `tenantId`; returns its correlation id. */
  async function enqueueInAcme(tenantId: string): Promise<string> {
    const correlationId = randomUUID();
    await t.db.withWholeTenant(acme, (tx) => worker.enqueue(tx, probe.name, { tenant_id: tenantId, correlation_id: correlationId, api_token: 'tok_secret_value' }));
    return correlationId;
  }
  const deadLetterOf = async (correlationId: string) => {
    const [row] = (await sql<{ id: string }>`select id from pgboss.job where name = 'dead-letter' and data->>'correlation_id' = ${correlationId}`.execute(t.db.owner)).rows;
    return row?.id;
  };

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    // The probe's queue exists before the node and the worker start, so that both know it.
    await prepareJobQueue(t.db, [probe]);
    node = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    worker = await createJobQueue(t.db, createLogger(t.config.logLevel), { worker: true });
    await worker.work([probe]);
    operator = await t.login('operator@demo.test');
  });
  after(async () => {
    await worker?.stop(1_000);
    await node?.stop();
    await t?.close();
  });

  test('a job that failed past its retry limit is listed without its payload, and a replay runs it again in its tenant', async () => {
    const correlationId = await enqueueInAcme(acme);
    const id = await eventually(() => deadLetterOf(correlationId));
    const { body, page } = await list();
    const listed = page.items.find((item) => item.id === id);
    assert.ok(listed, body);
    assert.equal(listed.queue, probe.name);
    assert.equal(listed.tenant_id, acme);
    assert.equal(listed.enqueued_by, acme);
    assert.equal(listed.error, 'the provider is down');
    assert.equal(listed.attempts, 2, 'the first attempt and its one retry');
    assert.ok(Date.parse(listed.failed_at) >= Date.parse(listed.created_at));
    assert.deepEqual(listed.payload_keys.sort(), ['api_token', 'correlation_id', 'tenant_id']);
    assert.equal(listed.replayable, true);
    assert.ok(!body.includes('tok_secret_value'), 'the payload is never shown');

    providerDown = false;
    const replayed = await replay(id);
    assert.equal(replayed.statusCode, 202, replayed.body);
    assert.equal((replayed.json() as Listed).id, id);
    assert.equal(await eventually(async () => runs.get(correlationId)), acme, 'it ran in acme');
    assert.ok(!(await list()).page.items.some((item) => item.id === id), 'the dead letter is gone');
    assert.equal((await replay(id)).statusCode, 404, 'a dead letter is replayed once');

    const audited = await t.db.owner.selectFrom('audit_events').select(['chain_id', 'actor_type', 'metadata']).where('action', '=', 'job.replayed').where('resource_id', '=', id).execute();
    assert.equal(audited.length, 1);
    assert.equal(audited[0]!.chain_id, PLATFORM_CHAIN);
    assert.equal(audited[0]!.actor_type, 'operator');
    assert.deepEqual(audited[0]!.metadata, { queue: probe.name, tenant_id: acme, error: 'the provider is down' });
  });

  test("a job refused for its tenant is listed but never replayed: that would run it under the tenant it forged", async () => {
    const correlationId = await enqueueInAcme(globex);
    const id = await eventually(() => deadLetterOf(correlationId));
    const listed = (await list()).page.items.find((item) => item.id === id);
    assert.deepEqual([listed?.tenant_id, listed?.enqueued_by, listed?.replayable, listed?.attempts], [globex, acme, false, 1]);
    const refused = await replay(id);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.ok((await list()).page.items.some((item) => item.id === id), 'still listed');
    assert.equal(runs.has(correlationId), false);
  });

  test('pages follow the order the jobs failed', async () => {
    const correlationId = await enqueueInAcme(globex);
    await eventually(() => deadLetterOf(correlationId));
    const all = (await list()).page.items;
    assert.ok(all.length >= 2, 'two dead letters to page through');
    const first = await list('?limit=1');
    assert.deepEqual(first.page.items.map((item) => item.id), [all[0]!.id]);
    assert.ok(first.page.next_cursor);
    const second = await list(`?limit=1&cursor=${first.page.next_cursor}`);
    assert.deepEqual(second.page.items.map((item) => item.id), [all[1]!.id]);
    assert.equal((await node.app!.inject({ method: 'GET', url: '/v1/platform/dead-letters?cursor=nonsense', headers: operator.headers })).statusCode, 400);
  });

  test('operators only: a tenant Owner is refused (403), an anonymous caller too (401); a bad id is a 400', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    assert.equal((await node.app!.inject({ method: 'GET', url: '/v1/platform/dead-letters', headers: owner.headers })).statusCode, 403);
    assert.equal((await replay(randomUUID(), owner.headers)).statusCode, 403);
    assert.equal((await node.app!.inject({ method: 'GET', url: '/v1/platform/dead-letters' })).statusCode, 401);
    assert.equal((await replay('not-a-uuid')).statusCode, 400);
    assert.equal((await replay(randomUUID())).statusCode, 404);
  });
});
