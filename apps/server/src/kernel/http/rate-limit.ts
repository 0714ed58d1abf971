import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, RouteOptions } from 'fastify';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { recordSecurityEvent } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import { isUuid, type Database } from '../db/database.ts';
import { ipKey } from '../client-address.ts';
import { AppError } from '../errors.ts';

/**
 * Rate limits and the per-tenant concurrency bound (FR-RATE-001, FR-TEN-008, FR-AUD-006).
 * Counters live in memory, or in Redis when REDIS_URL is set so that every node shares them
 * (CON-ARCH-005). See docs/rate-limits.md and docs/adr/0007-rate-limits-and-idempotency.md.
 */

/** A budget of requests per window. */
export interface RateLimitRule {
  points: number;
  durationSec: number;
}

/** Limits configured by name (RATE_LIMIT_*), for routes whose limit operators tune. */
export type NamedRateLimit = 'login';

/**
 * A route's own limits (route config `rateLimit`). Each replaces the default of its kind on that
 * route and counts in a bucket of its own; the tenant limit always applies.
 */
export interface RouteRateLimit {
  /** No limit at all. */
  skip?: true;
  /** Callers without a valid token, per client IP. */
  perIp?: RateLimitRule | NamedRateLimit;
  /** Signed-in users and managed applications, per principal. */
  perUser?: RateLimitRule;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: RouteRateLimit;
  }
}

/** Liveness and readiness probes answer the load balancer, whatever the traffic. */
const PROBES = new Set(['/healthz', '/readyz']);

/** What one bucket said about one request. */
interface Verdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  /** The first refusal of the key in its window: the one that is recorded as a security event. */
  firstRefusal: boolean;
}

interface Bucket {
  /** Names the limit in security events and logs. */
  kind: string;
  consume(key: string): Promise<Verdict>;
}

// Buckets -------------------------------------------------------------------------------------

type LimiterFactory = (name: string, rule: RateLimitRule) => RateLimiterAbstract;

/**
 * Memory, or Redis with a memory limiter as insurance: while Redis is unreachable each node
 * enforces the same limits on its own (DESIGN: abuse protection must not depend on Redis, and
 * Redis must not be able to take the API down). A key refused once is then refused from memory
 * until its window ends, so a flood does not reach Redis.
 */
function createLimiter(redis: Redis | null, keyPrefix: string, rule: RateLimitRule): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points: rule.points, duration: rule.durationSec });
  if (!redis) return memory;
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points: rule.points,
    duration: rule.durationSec,
    rejectIfRedisNotReady: true,
    inMemoryBlockOnConsumed: rule.points + 1,
    insuranceLimiter: memory,
  });
}

/** One limiter per name, so that routes sharing a bucket (a GET and its HEAD) share its counts. */
function limiterFactory(redis: Redis | null, prefix: string): LimiterFactory {
  const made = new Map<string, RateLimiterAbstract>();
  return (name, rule) => {
    let limiter = made.get(name);
    if (!limiter) made.set(name, (limiter = createLimiter(redis, `${prefix}:rl:${name}`, rule)));
    return limiter;
  };
}

/** rate-limiter-flexible answers a refusal by rejecting with its result; anything else is a fault. */
async function attempt(limiter: RateLimiterAbstract, key: string): Promise<{ res: RateLimiterRes; allowed: boolean }> {
  try {
    return { res: await limiter.consume(key), allowed: true };
  } catch (error) {
    if (error instanceof RateLimiterRes) return { res: error, allowed: false };
    throw error;
  }
}

function simpleBucket(kind: string, limiter: RateLimiterAbstract, rule: RateLimitRule): Bucket {
  return {
    kind,
    async consume(key) {
      const { res, allowed } = await attempt(limiter, key);
      return {
        allowed,
        limit: rule.points,
        remaining: res.remainingPoints,
        resetMs: res.msBeforeNext,
        firstRefusal: !allowed && res.consumedPoints === rule.points + 1,
      };
    },
  };
}

/**
 * The tenant's budget with a burst allowance: past its per-minute limit a tenant draws on a second
 * bucket that refills once per burst window (defaults: 300/min, 300 more per 10 minutes, i.e. 2x
 * for 60 s). Composed by hand rather than with BurstyRateLimiter, which hides the burst bucket's
 * counts that the headers and the once-per-window security event need.
 */
function burstBucket(kind: string, base: RateLimiterAbstract, baseRule: RateLimitRule, burst: RateLimiterAbstract | null, burstRule: RateLimitRule | null): Bucket {
  return {
    kind,
    async consume(key) {
      const first = await attempt(base, key);
      if (first.allowed || !burst || !burstRule) {
        return {
          allowed: first.allowed,
          limit: baseRule.points,
          remaining: first.res.remainingPoints,
          resetMs: first.res.msBeforeNext,
          firstRefusal: !first.allowed && first.res.consumedPoints === baseRule.points + 1,
        };
      }
      const extra = await attempt(burst, key);
      return {
        allowed: extra.allowed,
        limit: burstRule.points,
        remaining: extra.res.remainingPoints,
        // The base budget comes back first: that is when the tenant may go on.
        resetMs: first.res.msBeforeNext,
        firstRefusal: !extra.allowed && extra.res.consumedPoints === burstRule.points + 1,
      };
    },
  };
}

// Client addresses ----------------------------------------------------------------------------

// Per-tenant concurrency ----------------------------------------------------------------------

interface Waiter {
  resolve(release: () => void): void;
  timer: NodeJS.Timeout;
}

/**
 * Bounds the requests each tenant has in flight on this node (FR-TEN-008), so that one tenant
 * cannot hold every connection of the database pool: past `limit`, its requests wait in a queue
 * of at most `queueLength` for at most `queueTimeoutMs`, then get a 429 `tenant-busy` problem.
 * Other tenants' requests never wait behind that queue.
 */
export class TenantConcurrency {
  readonly #active = new Map<string, number>();
  readonly #queues = new Map<string, Waiter[]>();

  constructor(
    readonly limit: number,
    readonly queueLength: number,
    readonly queueTimeoutMs: number,
  ) {}

  /** Resolves with the function that frees the slot (safe to call more than once). */
  acquire(tenantId: string): Promise<() => void> {
    const active = this.#active.get(tenantId) ?? 0;
    if (active < this.limit) {
      this.#active.set(tenantId, active + 1);
      return Promise.resolve(this.#releaser(tenantId));
    }
    const queue = this.#queues.get(tenantId) ?? [];
    if (queue.length >= this.queueLength) return Promise.reject(new AppError('tenant-busy'));
    this.#queues.set(tenantId, queue);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          if (queue.length === 0 && this.#queues.get(tenantId) === queue) this.#queues.delete(tenantId);
          reject(new AppError('tenant-busy'));
        }, this.queueTimeoutMs),
      };
      queue.push(waiter);
    });
  }

  /** Requests of the tenant running and waiting on this node. */
  load(tenantId: string): { active: number; queued: number } {
    return { active: this.#active.get(tenantId) ?? 0, queued: this.#queues.get(tenantId)?.length ?? 0 };
  }

  #releaser(tenantId: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.#queues.get(tenantId);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.#queues.delete(tenantId);
      if (next) {
        // The slot passes straight to the next waiter: the count stays.
        clearTimeout(next.timer);
        next.resolve(this.#releaser(tenantId));
        return;
      }
      const active = (this.#active.get(tenantId) ?? 1) - 1;
      if (active > 0) this.#active.set(tenantId, active);
      else this.#active.delete(tenantId);
    };
  }
}

// The HTTP side -------------------------------------------------------------------------------

export interface RequestLimitDependencies {
  db: Database;
  /** Shared counters across nodes; memory when absent. */
  redis?: Redis | null;
}

export interface RequestLimits {
  /** onRoute: checks the route's `rateLimit` and wraps its handler in the tenant's concurrency bound. */
  onRoute(route: RouteOptions): void;
  /** onRequest, before the guard: refuses an address that keeps failing authentication. */
  beforeAuthentication(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** onRequest, after the guard: the caller's limits (user and tenant, or client IP). */
  afterAuthentication(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** onError: a request that failed authentication counts against its address. */
  onError(request: FastifyRequest, reply: FastifyReply, error: Error): Promise<void>;
  /** The bound on requests in flight per tenant; null when TENANT_CONCURRENCY is 0. */
  concurrency: TenantConcurrency | null;
}

interface RoutePlan {
  skip: boolean;
  ip: Bucket;
  user: Bucket | null;
}

const routeId = (method: string | string[], url: string) => `${([] as string[]).concat(method).join(',')} ${url}`;

function checkRule(where: string, rule: RateLimitRule) {
  const whole = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
  if (!whole(rule.points) || !whole(rule.durationSec)) {
    throw new Error(`Route ${where}: rateLimit needs whole, positive points and durationSec`);
  }
}

/** The tenant a request acts in: the signed-in user's, or the path's for a managed application. */
function tenantOf(request: FastifyRequest): string | null {
  const { actor, app } = request.ctx;
  if (actor) return actor.tenantId;
  const pathTenant = (request.params as { tenantId?: unknown } | undefined)?.tenantId;
  return app && isUuid(pathTenant) ? pathTenant : null;
}

function setHeaders(reply: FastifyReply, verdicts: Verdict[]) {
  // The policy closest to running out is the one the client must heed (IETF RateLimit fields).
  const tightest = verdicts.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
  reply.header('ratelimit-limit', String(tightest.limit));
  reply.header('ratelimit-remaining', String(Math.max(0, tightest.remaining)));
  reply.header('ratelimit-reset', String(Math.max(0, Math.ceil(tightest.resetMs / 1000))));
}

/**
 * Builds the limiters of one HTTP server from the configuration. Counters are shared through
 * `deps.redis` when given (every node of a deployment then draws on the same budgets).
 */
export function createRequestLimits(config: Config, deps: RequestLimitDependencies): RequestLimits {
  const settings = config.rateLimits;
  const bound = config.tenantConcurrency;
  const concurrency = bound.limit > 0 ? new TenantConcurrency(bound.limit, bound.queueLength, bound.queueTimeoutMs) : null;
  const make = limiterFactory(deps.redis ?? null, config.redisKeyPrefix);
  const perMinute = (points: number): RateLimitRule => ({ points, durationSec: 60 });
  const named: Record<NamedRateLimit, RateLimitRule> = { login: perMinute(settings.loginPerMinute) };

  const ipRule = perMinute(settings.ipPerMinute);
  const ip = simpleBucket('ip', make('ip', ipRule), ipRule);
  const userRule = perMinute(settings.userPerMinute);
  const user = simpleBucket('user', make('user', userRule), userRule);
  const appRule = perMinute(settings.appPerMinute);
  const application = simpleBucket('app', make('app', appRule), appRule);
  const tenantRule = perMinute(settings.tenantPerMinute);
  const burstRule = settings.tenantBurst > 0 ? { points: settings.tenantBurst, durationSec: settings.tenantBurstWindowSeconds } : null;
  const tenant = burstBucket('tenant', make('tenant', tenantRule), tenantRule, burstRule && make('tenant-burst', burstRule), burstRule);

  const plans = new Map<string, RoutePlan>();
  /** Addresses refused for failing authentication, until when (this node's memory). */
  const blockedAddresses = new Map<string, number>();

  function planOf(request: FastifyRequest): RoutePlan {
    return plans.get(routeId(request.routeOptions.method, request.routeOptions.url ?? '')) ?? { skip: false, ip, user: null };
  }

  async function refuse(request: FastifyRequest, reply: FastifyReply, bucket: Bucket, verdict: Verdict, tenantId: string | null): Promise<never> {
    const retryAfter = Math.max(1, Math.ceil(verdict.resetMs / 1000));
    reply.header('retry-after', String(retryAfter));
    if (verdict.firstRefusal) {
      await recordSecurityEvent(deps.db, request.ctx, {
        tenantId,
        action: 'security.rate_limited',
        severity: 'medium',
        metadata: { limit: bucket.kind, points: verdict.limit, route: request.routeOptions.url, method: request.method },
      });
    }
    throw new AppError('rate-limited', `Too many requests; try again in ${retryAfter} s.`);
  }

  /**
   * Consumes one point from each bucket in turn; the first refusal ends the request, recorded in
   * the caller's tenant chain (the platform chain for operators and anonymous callers).
   */
  async function enforce(request: FastifyRequest, reply: FastifyReply, checks: [Bucket, string][], eventTenant: string | null) {
    const verdicts: Verdict[] = [];
    for (const [bucket, key] of checks) {
      let verdict: Verdict;
      try {
        verdict = await bucket.consume(key);
      } catch (error) {
        // Only a fault of the insurance itself lands here: let the request through, say so.
        request.log.error({ err: error, limit: bucket.kind }, 'rate limiter failed; request allowed');
        continue;
      }
      verdicts.push(verdict);
      if (!verdict.allowed) {
        setHeaders(reply, verdicts);
        await refuse(request, reply, bucket, verdict, eventTenant);
      }
    }
    if (verdicts.length > 0) setHeaders(reply, verdicts);
  }

  return {
    concurrency,

    onRoute(route) {
      const where = routeId(route.method, route.url);
      const declared = route.config?.rateLimit;
      if (declared) {
        const byName = typeof declared.perIp === 'string';
        if (byName && !Object.hasOwn(named, declared.perIp as string)) throw new Error(`Route ${where}: unknown named rate limit '${declared.perIp}'`);
        const perIp = byName ? named[declared.perIp as NamedRateLimit] : (declared.perIp as RateLimitRule | undefined);
        if (perIp) checkRule(where, perIp);
        if (declared.perUser) checkRule(where, declared.perUser);
        // A route's bucket is named by its path and rule: its HEAD twin draws on the same one.
        const own = (kind: string, rule: RateLimitRule) => simpleBucket(`route-${kind}`, make(`route:${route.url}:${kind}:${rule.points}/${rule.durationSec}`, rule), rule);
        plans.set(where, {
          skip: declared.skip === true,
          ip: perIp ? own('ip', perIp) : ip,
          user: declared.perUser ? own('user', declared.perUser) : null,
        });
      }
      if (!concurrency) return;
      const handler = route.handler as RouteHandlerMethod;
      route.handler = async function withinTenantBound(this: FastifyInstance, request, reply) {
        const tenantId = tenantOf(request);
        if (!tenantId) return handler.call(this, request, reply);
        let release: () => void;
        try {
          release = await concurrency.acquire(tenantId);
        } catch (error) {
          reply.header('retry-after', '1');
          if (error instanceof AppError) {
            const load = concurrency.load(tenantId);
            request.log.warn({ tenantId, ...load }, 'tenant concurrency bound reached');
          }
          throw error;
        }
        try {
          return await handler.call(this, request, reply);
        } finally {
          release();
        }
      };
    },

    async beforeAuthentication(request, reply) {
      if (!settings.enabled || request.routeOptions.config?.access === 'public') return;
      const key = ipKey(request.ip);
      const until = blockedAddresses.get(key);
      if (until === undefined) return;
      if (until <= Date.now()) {
        blockedAddresses.delete(key);
        return;
      }
      reply.header('retry-after', String(Math.max(1, Math.ceil((until - Date.now()) / 1000))));
      throw new AppError('rate-limited', 'Too many requests without valid credentials from this address.');
    },

    async afterAuthentication(request, reply) {
      if (!settings.enabled || PROBES.has(request.routeOptions.url ?? '')) return;
      const plan = planOf(request);
      if (plan.skip) return;
      const { actor, app } = request.ctx;
      const tenantId = tenantOf(request);
      const checks: [Bucket, string][] = [];
      if (actor) checks.push([plan.user ?? user, actor.userId]);
      else if (app) checks.push([plan.user ?? application, app.appId]);
      else checks.push([plan.ip, ipKey(request.ip)]);
      if (tenantId) checks.push([tenant, tenantId]);
      await enforce(request, reply, checks, tenantId);
    },

    async onError(request, reply, error) {
      if (!settings.enabled || !(error instanceof AppError) || error.code !== 'unauthorized') return;
      if (request.routeOptions.config?.access === 'public' || !request.ctx || request.ctx.actor || request.ctx.app) return;
      const key = ipKey(request.ip);
      let verdict: Verdict;
      try {
        verdict = await ip.consume(key);
      } catch (fault) {
        request.log.error({ err: fault, limit: 'ip' }, 'rate limiter failed');
        return;
      }
      if (verdict.allowed) return;
      // Memory only and per node: even with Redis, a refused address costs no round trip.
      if (blockedAddresses.size > 100_000) blockedAddresses.clear();
      blockedAddresses.set(key, Date.now() + verdict.resetMs);
      if (verdict.firstRefusal) {
        await recordSecurityEvent(deps.db, request.ctx, {
          tenantId: null,
          action: 'security.rate_limited',
          severity: 'medium',
          metadata: { limit: 'ip', reason: 'failed_authentication', points: verdict.limit, route: request.routeOptions.url, method: request.method },
        });
      }
    },
  };
}
