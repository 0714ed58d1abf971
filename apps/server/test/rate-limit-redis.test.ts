import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../src/kernel/log.ts';
import { startPlatform, type Running } from '../src/start.ts';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

/**
 * FR-RATE-001, CON-ARCH-005: two API nodes on one database share their rate-limit counters
 * through Redis, so a client cannot double its budget by spreading requests over the nodes, and a
 * breach is one security event however many nodes refuse it.
 */
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** CI sets REDIS_URL and must have Redis; elsewhere the test runs when a local server answers. */
async function redisAnswers(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const available = process.env.REDIS_URL ? true : await redisAnswers();
const skip = available ? false : `REDIS_URL is unset and no Redis answers at ${REDIS_URL}: start one (scripts/ci-redis.sh) to run this test`;

describe('rate limits shared by two nodes through Redis', { skip }, () => {
  let t: TestPlatform;
  let nodeB: Running;
  let owner: Session;
  // A prefix of this run's own, so that parallel runs on one Redis never share counters.
  const prefix = `tsv-test-${randomBytes(6).toString('hex')}`;

  before(async () => {
    t = await buildTestPlatform(
      {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_USER_PER_MINUTE: '4',
        RATE_LIMIT_TENANT_PER_MINUTE: '1000',
        RATE_LIMIT_LOGIN_PER_MINUTE: '3',
      },
      { worker: false },
    );
    nodeB = await startPlatform(t.config, createLogger(t.config.logLevel), { api: true, worker: false, db: t.db });
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(async () => {
    await nodeB?.stop();
    await t?.close();
    const cleanup = new Redis(REDIS_URL);
    const keys = await cleanup.keys(`${prefix}:*`);
    if (keys.length > 0) await cleanup.del(...keys);
    await cleanup.quit();
  });

  test('each node has its own connected Redis client', () => {
    const a = t.running.platform.redis;
    const b = nodeB.platform.redis;
    assert.ok(a && b && a !== b);
    assert.equal(a.status, 'ready');
    assert.equal(b.status, 'ready');
  });

  test("a user's budget is shared: alternating nodes, the fifth request is refused on either, one security event", async () => {
    const me = (app: NonNullable<Running['app']>) => app.inject({ method: 'GET', url: '/v1/me', headers: owner.headers });
    const remaining: string[] = [];
    for (const app of [t.app, nodeB.app!, t.app, nodeB.app!]) {
      const response = await me(app);
      assert.equal(response.statusCode, 200, response.body);
      remaining.push(String(response.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['3', '2', '1', '0'], 'one counter across both nodes');
    for (const app of [nodeB.app!, t.app, nodeB.app!]) {
      const refused = await me(app);
      assert.equal(refused.statusCode, 429, refused.body);
      assert.equal(refused.json().type, '/problems/rate-limited');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
    }
    const events = await t.db.owner
      .selectFrom('audit_events')
      .select(['metadata'])
      .where('action', '=', 'security.rate_limited')
      .where('tenant_id', '=', t.tenants.acme!.id)
      .execute();
    assert.equal(events.length, 1, 'refusals on two nodes are still one event per window');
    assert.equal(events[0]!.metadata.limit, 'user');
  });

  test('the sign-in limit per IP is shared too', async () => {
    const login = (app: NonNullable<Running['app']>) =>
      app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.60', payload: { email: 'member@acme.demo.test', password: 'wrong-password', tenant: 'acme' } });
    const statuses: number[] = [];
    for (const app of [t.app, nodeB.app!, t.app, nodeB.app!, t.app]) statuses.push((await login(app)).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  });
});
