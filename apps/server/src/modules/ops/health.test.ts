import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RequestContext } from '../../kernel/context.ts';
import { RouteMetrics } from '../../kernel/metrics.ts';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { createHealthService } from './ops.service.ts';

interface Report {
  status: string;
  dependencies: Record<string, { status: string; latency_ms?: number | null; queues?: { name: string; depth: number }[]; mode?: string; error?: string }>;
  routes: { window_seconds: number; families: { family: string; requests: number; errors: number; error_rate: number; p99_ms: number }[] };
}

describe('platform health for operators (FR-SYS-005)', () => {
  let t: TestPlatform;
  let operator: Session;

  before(async () => {
    t = await buildTestPlatform();
    operator = await t.login('operator@demo.test');
  });
  after(() => t?.close());

  test('reports every dependency, the queue depths, and error rate and p99 per route family', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    for (let i = 0; i < 5; i++) await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/customers`, headers: owner.headers });
    await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/customers/${randomUUID()}`, headers: owner.headers });
    await t.app.inject({ method: 'GET', url: '/v1/no-such-route' });

    const response = await t.app.inject({ method: 'GET', url: '/v1/platform/health', headers: operator.headers });
    assert.equal(response.statusCode, 200, response.body);
    const report = response.json() as Report;
    assert.equal(report.status, 'ok');
    const { database, queue, redis, mail, identity } = report.dependencies;
    assert.equal(database!.status, 'ok');
    assert.ok(typeof database!.latency_ms === 'number' && database!.latency_ms >= 0);
    assert.equal(queue!.status, 'ok');
    const queues = queue!.queues!.map((q) => q.name);
    for (const name of ['billing-retention', 'notification']) assert.ok(queues.includes(name), `queue ${name} in ${queues.join(', ')}`);
    assert.ok(queue!.queues!.every((q) => Number.isInteger(q.depth) && q.depth >= 0));
    assert.deepEqual(redis, { status: 'not-configured', latency_ms: null });
    assert.deepEqual(mail, { status: 'ok', mode: 'dev-mailbox' });
    assert.deepEqual(identity, { status: 'ok', mode: 'built-in' });

    assert.equal(report.routes.window_seconds, 300);
    const customers = report.routes.families.find((f) => f.family === 'tenants/customers');
    assert.ok(customers, JSON.stringify(report.routes.families));
    assert.equal(customers.requests, 6);
    assert.equal(customers.errors, 0, 'a 404 is not an error of the server');
    assert.ok(customers.p99_ms > 0);
    assert.ok(report.routes.families.some((f) => f.family === '(unmatched)'));
  });

  test('Redis: pinged when configured, and a dead one makes the platform degraded, not down', async () => {
    const ctx: RequestContext = { correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: t.running.platform.log };
    const withRedis = (redisUrl: string) =>
      createHealthService({ ...t.running.platform, config: { ...t.config, redisUrl }, metrics: new RouteMetrics(), queues: [] });
    const live = withRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const dead = withRedis('redis://127.0.0.1:1');
    try {
      // The Redis server of the test machines (DESIGN.md, "Real components in tests").
      const liveReport = await live.report(ctx);
      assert.equal(liveReport.dependencies.redis.status, 'ok', JSON.stringify(liveReport.dependencies.redis));
      assert.ok(typeof liveReport.dependencies.redis.latency_ms === 'number');
      assert.equal(liveReport.status, 'ok');
      const deadReport = await dead.report(ctx);
      assert.equal(deadReport.dependencies.redis.status, 'down');
      assert.ok(deadReport.dependencies.redis.error);
      assert.equal(deadReport.status, 'degraded');
    } finally {
      await live.close();
      await dead.close();
    }
  });

  test('operators only: a tenant Owner is refused (403), an anonymous caller too (401)', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/platform/health', headers: owner.headers })).statusCode, 403);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/platform/health' })).statusCode, 401);
  });
});
