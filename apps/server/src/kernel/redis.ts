import { Redis } from 'ioredis';
import type { Logger } from './log.ts';

/**
 * The shared Redis client. Commands never queue while the connection is down (the limiters fall
 * back to their in-memory insurance at once instead), and the client reconnects by itself.
 * Waits up to `readyTimeoutMs` for the first connection; a node whose Redis is down still starts.
 */
export async function connectRedis(url: string, log: Logger, readyTimeoutMs = 3_000): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    // One line per 10 s at most: a Redis outage must not flood the logs.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      log.warn({ err: { message: error.message } }, 'redis unavailable: rate limits use per-node memory');
    }
  });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), readyTimeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) log.warn('redis did not answer at start: rate limits use per-node memory until it does');
  return redis;
}

/** Closes the client: politely when connected, at once otherwise. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}
