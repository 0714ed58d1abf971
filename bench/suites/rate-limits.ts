/** (f) What rate limiting costs the kernel route of (b): limits off, counters in memory, counters in Redis. */
import type { AutocannonRequest } from 'autocannon';
import type { Redis } from 'ioredis';
import type { Config } from '../../apps/server/src/kernel/config.ts';
import { closeRedis, connectRedis } from '../../apps/server/src/kernel/redis.ts';
import { createHttpServer } from '../../apps/server/src/kernel/http/server.ts';
import { atCleanup } from '../lib/cleanup.ts';
import { byKey, paired, suite, type Sample, type Variant } from '../lib/engine.ts';
import { fmt, pct } from '../lib/format.ts';
import { bearer, listen } from '../lib/http.ts';
import { progress } from '../lib/progress.ts';
import { ratioLine, resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(f) rate limits';

export const rateLimitSuite: BenchSuite = {
  name: 'limits',
  title,
  keys: ['limits-off', 'limits-memory', 'limits-redis'],
  async run({ options, config, log, running, seeded, load, databaseName }) {
    // The kernel route of (b) with rate limits off, on in memory, and on in Redis when one answers
    // (REDIS_URL, else a local server). The tenant concurrency bound is off in all three.
    const { tokens, sessions, db } = running.platform;
    const limitKernel = async (name: string, enabled: boolean, redis: Redis | null) => {
      const limited: Config = {
        ...config,
        rateLimits: { ...config.rateLimits, enabled },
        tenantConcurrency: { ...config.tenantConcurrency, limit: 0 },
        redisKeyPrefix: `tsv-bench-${databaseName}`,
      };
      const { app: server } = await createHttpServer(limited, log, { db, tokens, sessions, redis });
      server.get('/v1/bench/session', { config: { access: 'authenticated', requirements: ['FR-RATE-001'] } }, async (request) => ({
        user_id: request.ctx.actor!.userId,
        tenant_id: request.ctx.actor!.tenantId,
      }));
      const url = await listen(server);
      atCleanup(`kernel route server, ${name}`, () => server.close());
      return url;
    };
    const limitsOffUrl = await limitKernel('rate limits off', false, null);
    const limitsMemoryUrl = await limitKernel('rate limits in memory', true, null);
    const benchRedisUrl = config.redisUrl ?? 'redis://127.0.0.1:6379';
    const benchRedis = await connectRedis(benchRedisUrl, log, 1_000);
    atCleanup('redis client', () => closeRedis(benchRedis));
    const limitsRedisUrl = benchRedis.status === 'ready' ? await limitKernel('rate limits in Redis', true, benchRedis) : null;
    if (!limitsRedisUrl) progress(`(f) no Redis answers at ${benchRedisUrl.replace(/\/\/[^@/]*@/, '//***@')}: the Redis variant is left out`);

    const kernelRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/v1/bench/session', headers: bearer(s.token) }));
    const limitVariants: Variant[] = [
      {
        key: 'limits-off',
        label: 'GET /v1/bench/session, rate limits off',
        http: true,
        guarded: true,
        run: (s) => load.run(limitsOffUrl, options.connections, s, kernelRequests),
      },
      {
        key: 'limits-memory',
        label: 'the same, rate limits on: user and tenant buckets in memory',
        http: true,
        guarded: true,
        run: (s) => load.run(limitsMemoryUrl, options.connections, s, kernelRequests),
      },
    ];
    if (limitsRedisUrl) {
      limitVariants.push({
        key: 'limits-redis',
        label: 'the same, rate limits on: user and tenant buckets in Redis (two round trips)',
        http: true,
        guarded: true,
        run: (s) => load.run(limitsRedisUrl, options.connections, s, kernelRequests),
      });
    }
    const limits = await suite(title, limitVariants, options);

    return {
      results: limits,
      report() {
        // Server CPU per request (this process's cores ÷ req/s): the limiter's cost is the difference.
        const cpuUs = (sample: Sample) => (sample.cpu.self / sample.rps) * 1e6;
        const limitsOff = byKey(limits, 'limits-off');
        const limitsMemory = byKey(limits, 'limits-memory');
        const limitsRedis = limits.find((r) => r.variant.key === 'limits-redis')?.median ?? null;
        const limitCostLine = (what: string, sample: Sample) =>
          `${what}: ${fmt(cpuUs(sample), 1)} µs of server CPU per request against ${fmt(cpuUs(limitsOff), 1)} µs with limits off (${fmt(cpuUs(sample) - cpuUs(limitsOff), 1)} µs more), ${fmt(sample.rps)} req/s against ${fmt(limitsOff.rps)} (p50 ${fmt(sample.p50, 2)} ms against ${fmt(limitsOff.p50, 2)} ms).`;
        return {
          summary: [
            `| (f) rate limits in memory | ${fmt(limitsMemory.rps)} | ${fmt(limitsMemory.p50, 2)} | ${fmt(limitsMemory.p99, 2)} | kernel route, limits off | ${fmt(limitsOff.rps)} | ${pct(paired(limits, 'limits-memory', 'limits-off').median)} | - | - |`,
          ],
          section: `## (f) Rate-limit overhead

The bench-only kernel route of (b) on three more instances of the platform's HTTP kernel that differ only in their rate limits: off, on with the
counters in memory, and on with the counters in Redis${limitsRedis ? '' : ' (left out: no Redis answered)'}. Every request draws from its user's and its tenant's budget (limits set
so high that nothing is refused); the tenant concurrency bound is off in all three. The full-stack rows above run with rate limits on in
${config.redisUrl ? 'Redis' : 'memory'}.

${resultTable(title, limits)}

${limitCostLine('In memory', limitsMemory)}
${limitsRedis ? limitCostLine('In Redis', limitsRedis) : ''}
${ratioLine('Kernel route with limits in memory ÷ limits off', paired(limits, 'limits-memory', 'limits-off'), limitsMemory.rps / limitsOff.rps)}`,
          reading: [],
        };
      },
    };
  },
};
