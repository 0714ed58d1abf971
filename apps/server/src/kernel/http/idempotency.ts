import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, RouteOptions } from 'fastify';
import { sql } from 'kysely';
import { canonicalJson } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import { isUuid, type Database, type Tx } from '../db/database.ts';
import { AppError } from '../errors.ts';

/**
 * `Idempotency-Key` on POST and PUT (FR-IDEM-001). The first request with a key claims it under a
 * lease; its final answer (2xx or 4xx) is kept for 24 hours and replayed to a retry with the same
 * request; the same key with another request is a 422; a duplicate that arrives while the first
 * runs waits for its answer, for a bounded time, then gets a 409. See
 * docs/adr/0007-rate-limits-and-idempotency.md for the crash window.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * false: the route ignores Idempotency-Key. For answers that must never be stored, such as
     * credentials; public routes ignore it anyway.
     */
    idempotency?: false;
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on an answer replayed from the store. */
export const REPLAYED_HEADER = 'idempotency-replayed';
const KEY = /^[\x21-\x7e]{1,255}$/;
const METHODS = new Set(['POST', 'PUT']);
/** Headers of the original answer that a replay repeats. */
const KEPT_HEADERS = ['content-type', 'location'];
export const IDEMPOTENCY_TTL_HOURS = 24;
/** How often one node purges a scope's expired keys (lazily, while claiming a new key there). */
const PURGE_EVERY_MS = 10 * 60_000;
const PURGE_BATCH = 500;

/** Where a caller's keys live: its tenant's rows, or platform rows (tenant_id null), and whose. */
interface KeyScope {
  tenantId: string | null;
  principal: string;
}

interface Claim {
  id: string;
  lease: string;
  scope: KeyScope;
  /** The handler returned or threw; false while it still runs (the request timed out). */
  handlerDone: boolean;
}

interface StoredKey {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

type ClaimOutcome = { kind: 'claimed'; id: string; lease: string } | { kind: 'replay'; stored: StoredKey };

/** Method, path with query, and the body with its keys sorted: the same request hashes the same. */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method}\n${url}\n${canonicalJson(body ?? null)}`).digest('hex');
}

export interface Idempotency {
  /** onRoute: wraps the handler of a POST or PUT route that a principal calls. */
  onRoute(route: RouteOptions): void;
  /** onSend: stores the final answer of a claimed key, or lets the key go after a server error. */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

export function createIdempotency(config: Config, db: Database): Idempotency {
  // A live request finishes (or times out) well before its lease lapses.
  const leaseSeconds = Math.ceil(config.requestTimeoutMs / 1000) + 5;
  // A duplicate waits at most this long for the first request, and always less than its own timeout.
  const waitMs = Math.min(5_000, Math.floor(config.requestTimeoutMs / 2));
  const claims = new WeakMap<FastifyRequest, Claim | 'replayed'>();
  const purgedAt = new Map<string, number>();

  function scopeFor(request: FastifyRequest): KeyScope | null {
    const { actor, app } = request.ctx;
    if (actor) return { tenantId: actor.tenantId, principal: `user:${actor.userId}` };
    if (app) {
      const pathTenant = (request.params as { tenantId?: unknown } | undefined)?.tenantId;
      return { tenantId: isUuid(pathTenant) ? pathTenant : null, principal: `app:${app.appId}` };
    }
    return null;
  }

  function inScope<T>(request: FastifyRequest, scope: KeyScope, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (scope.tenantId === null) return db.withPlatform(fn);
    return request.ctx.actor ? db.withTenant(request.ctx, fn) : db.withWholeTenant(scope.tenantId, fn);
  }

  /** Expired keys of this scope go while a new key is claimed there, at most every PURGE_EVERY_MS per node. */
  async function purgeExpired(tx: Tx, scope: KeyScope) {
    const name = scope.tenantId ?? 'platform';
    if (Date.now() - (purgedAt.get(name) ?? 0) < PURGE_EVERY_MS) return;
    if (purgedAt.size > 100_000) purgedAt.clear();
    purgedAt.set(name, Date.now());
    await sql`delete from idempotency_keys where id in (
      select id from idempotency_keys where expires_at < now() limit ${PURGE_BATCH})`.execute(tx);
  }

  async function claimOnce(request: FastifyRequest, scope: KeyScope, key: string, hash: string): Promise<ClaimOutcome | StoredKey | null> {
    const lease = randomUUID();
    return inScope(request, scope, async (tx) => {
      // A new key, an expired one, or one whose holder's lease lapsed (it crashed) is ours.
      const claimed = await sql<{ id: string }>`
        insert into idempotency_keys as k
          (tenant_id, principal, idempotency_key, request_hash, lease_id, locked_until, expires_at)
        values (${scope.tenantId}, ${scope.principal}, ${key}, ${hash}, ${lease},
          now() + make_interval(secs => ${leaseSeconds}), now() + make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}))
        on conflict on constraint idempotency_keys_scope_key do update
          set request_hash = excluded.request_hash, status = 'in_progress', lease_id = excluded.lease_id,
              locked_until = excluded.locked_until, expires_at = excluded.expires_at, created_at = now(),
              response_status = null, response_headers = null, response_body = null
          where k.expires_at <= now()
             or (k.status = 'in_progress' and k.locked_until <= now() and k.request_hash = excluded.request_hash)
        returning k.id`.execute(tx);
      const row = claimed.rows[0];
      if (row) {
        await purgeExpired(tx, scope);
        return { kind: 'claimed', id: row.id, lease } as const;
      }
      const existing = await sql<StoredKey>`
        select request_hash, status, response_status, response_headers, response_body from idempotency_keys
         where principal = ${scope.principal} and idempotency_key = ${key}`.execute(tx);
      return existing.rows[0] ?? null;
    });
  }

  /** Claims the key, or returns the stored answer, waiting a bounded time for a request in progress. */
  async function claimOrWait(request: FastifyRequest, reply: FastifyReply, scope: KeyScope, key: string, hash: string): Promise<ClaimOutcome> {
    const deadline = Date.now() + waitMs;
    let pause = 20;
    for (;;) {
      const outcome = await claimOnce(request, scope, key, hash);
      if (outcome && 'kind' in outcome) return outcome;
      if (outcome) {
        if (outcome.request_hash !== hash) {
          throw new AppError('idempotency-key-reused', 'This Idempotency-Key was used with another request; use a new key for a new request.');
        }
        if (outcome.status === 'completed') return { kind: 'replay', stored: outcome };
      }
      if (Date.now() >= deadline) {
        reply.header('retry-after', '1');
        throw new AppError('idempotency-in-progress', 'A request with this Idempotency-Key is still being processed; retry shortly.');
      }
      // In progress elsewhere (or purged between the two statements): look again shortly.
      await sleep(pause);
      pause = Math.min(pause * 2, 250);
    }
  }

  async function complete(request: FastifyRequest, claim: Claim, status: number, body: string | null, headers: Record<string, string>) {
    await inScope(request, claim.scope, (tx) =>
      sql`update idempotency_keys
             set status = 'completed', lease_id = null, locked_until = null,
                 response_status = ${status}, response_headers = ${JSON.stringify(headers)}::jsonb, response_body = ${body}
           where id = ${claim.id} and lease_id = ${claim.lease}`.execute(tx),
    );
  }

  async function release(request: FastifyRequest, claim: Claim) {
    await inScope(request, claim.scope, (tx) => sql`delete from idempotency_keys where id = ${claim.id} and lease_id = ${claim.lease}`.execute(tx));
  }

  return {
    onRoute(route) {
      const methods = ([] as string[]).concat(route.method);
      if (!methods.some((method) => METHODS.has(method))) return;
      // Public routes (sign-in, token refresh) answer with credentials, which are never stored.
      if (route.config?.access === 'public' || route.config?.idempotency === false) return;
      const handler = route.handler as RouteHandlerMethod;
      route.handler = async function idempotent(this: FastifyInstance, request, reply) {
        const header = request.headers[IDEMPOTENCY_HEADER];
        const scope = METHODS.has(request.method) && header !== undefined ? scopeFor(request) : null;
        if (!scope) return handler.call(this, request, reply);
        const key = Array.isArray(header) ? header.join(', ') : String(header);
        if (!KEY.test(key)) throw new AppError('bad-request', 'The Idempotency-Key header must be 1 to 255 visible ASCII characters.');

        const outcome = await claimOrWait(request, reply, scope, key, requestHash(request.method, request.url, request.body));
        if (outcome.kind === 'replay') {
          const { stored } = outcome;
          claims.set(request, 'replayed');
          for (const [name, value] of Object.entries(stored.response_headers ?? {})) reply.header(name, value);
          reply.header(REPLAYED_HEADER, 'true');
          return reply.status(stored.response_status!).send(stored.response_body ?? undefined);
        }
        const claim: Claim = { id: outcome.id, lease: outcome.lease, scope, handlerDone: false };
        claims.set(request, claim);
        try {
          return await handler.call(this, request, reply);
        } finally {
          claim.handlerDone = true;
        }
      };
    },

    async onSend(request, reply, payload) {
      const claim = claims.get(request);
      if (!claim || claim === 'replayed') return payload;
      claims.delete(request);
      const status = reply.statusCode;
      try {
        if (status >= 500 || (payload !== null && payload !== undefined && typeof payload !== 'string')) {
          // Not a final answer: a retry must be able to run. A request that timed out may still
          // be running (and may still commit): its key stays held until the lease lapses.
          if (claim.handlerDone) await release(request, claim);
          return payload;
        }
        const headers: Record<string, string> = {};
        for (const name of KEPT_HEADERS) {
          const value = reply.getHeader(name);
          if (value !== undefined) headers[name] = String(value);
        }
        await complete(request, claim, status, (payload as string | null | undefined) ?? null, headers);
      } catch (error) {
        // The answer still goes out; a retry runs again once the lease lapses (see the ADR).
        request.log.error({ err: error }, 'could not store the idempotent answer');
      }
      return payload;
    },
  };
}
