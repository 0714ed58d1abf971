import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { RequestContext } from '../../kernel/context.ts';
import { WINDOW_SECONDS } from '../../kernel/metrics.ts';
import type { Platform } from '../../kernel/platform.ts';
import type { HealthReportType } from './ops.schemas.ts';

/** A dependency that does not answer within this is reported down; the health answer never hangs. */
const CHECK_TIMEOUT_MS = 2_000;

class CheckTimeout extends Error {}

interface Checked<T> {
  status: 'ok' | 'down';
  latency_ms: number;
  error?: 'timeout' | 'unreachable';
  value?: T;
}

async function timed<T>(check: () => Promise<T>): Promise<Checked<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout()), CHECK_TIMEOUT_MS);
  });
  try {
    const value = await Promise.race([check(), deadline]);
    return { status: 'ok', latency_ms: Math.round((performance.now() - started) * 100) / 100, value };
  } catch (error) {
    return { status: 'down', latency_ms: Math.round(performance.now() - started), error: error instanceof CheckTimeout ? 'timeout' : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The operators' health report (FR-SYS-005): every dependency checked in parallel with its timing,
 * queue depths, and error rate and p99 latency per route family over the last 5 minutes.
 */
export function createHealthService(platform: Platform) {
  const { db, jobs, config, tokens, log, metrics, queues, mail } = platform;
  let redis: Redis | null = null;

  /** One client per process, connected on first use and kept; it reconnects by itself. */
  async function pingRedis(url: string) {
    if (!redis) {
      redis = new Redis(url, { lazyConnect: true, connectTimeout: CHECK_TIMEOUT_MS, maxRetriesPerRequest: 1, enableOfflineQueue: false });
      // Failures show as a failed ping; the client must not crash the process with an unhandled error event.
      redis.on('error', (error: Error) => log.debug({ err: error }, 'redis health client error'));
    }
    if (redis.status === 'wait') await redis.connect();
    return redis.ping();
  }

  return {
    async report(_ctx: RequestContext): Promise<HealthReportType> {
      const [database, queue, redisCheck, smtp] = await Promise.all([
        timed(() => db.withPlatform((tx) => sql`select 1`.execute(tx))),
        timed(() => Promise.all(queues.map(async (name) => ({ name, depth: await jobs.depth(name) })))),
        config.redisUrl ? timed(() => pingRedis(config.redisUrl!)) : null,
        mail ? timed(() => mail.verify()) : null,
      ]);
      const identityReady = tokens.jwks().keys.length > 0;
      const dependencies: HealthReportType['dependencies'] = {
        database: { status: database.status, latency_ms: database.latency_ms, backend: db.backend, ...(database.error ? { error: database.error } : {}) },
        queue: { status: queue.status, latency_ms: queue.latency_ms, queues: queue.value ?? [], ...(queue.error ? { error: queue.error } : {}) },
        redis: redisCheck
          ? { status: redisCheck.status, latency_ms: redisCheck.latency_ms, ...(redisCheck.error ? { error: redisCheck.error } : {}) }
          : { status: 'not-configured', latency_ms: null },
        // With SMTP_URL the server is connected to and authenticated with; else mail goes to the
        // development mailbox, which is the database.
        mail: smtp
          ? { status: smtp.status, mode: 'smtp', latency_ms: smtp.latency_ms, ...(smtp.error ? { error: smtp.error } : {}) }
          : { status: database.status, mode: 'dev-mailbox' },
        identity: { status: identityReady ? 'ok' : 'down', mode: 'built-in' },
      };
      const others = [dependencies.queue, dependencies.redis, dependencies.mail, dependencies.identity];
      return {
        status: database.status === 'down' ? 'down' : others.some((d) => d.status === 'down') ? 'degraded' : 'ok',
        checked_at: new Date().toISOString(),
        dependencies,
        routes: { window_seconds: WINDOW_SECONDS, families: metrics.snapshot() },
      };
    },

    async close() {
      redis?.disconnect();
      redis = null;
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
