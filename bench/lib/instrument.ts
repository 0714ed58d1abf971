import type { Database } from '../../apps/server/src/kernel/db/database.ts';
import type { Running } from '../../apps/server/src/start.ts';
import { counters } from './engine.ts';

/**
 * Counts session-cache hits and misses and the transactions opened per request. It wraps the
 * methods of the running platform's own objects (the guard and the services call them through the
 * same references); nothing in src changes. The wrappers cost a function call each.
 */
export function instrument(running: Running) {
  const { sessions, db } = running.platform;
  const get = sessions.get.bind(sessions);
  sessions.get = (sessionId: string, now?: number) => {
    const active = get(sessionId, now);
    if (active) counters.cacheHits++;
    else counters.cacheMisses++;
    return active;
  };
  const withTenant = db.withTenant.bind(db);
  const withWholeTenant = db.withWholeTenant.bind(db);
  const withPlatform = db.withPlatform.bind(db);
  const mutable = db as { -readonly [K in keyof Database]: Database[K] };
  mutable.withTenant = (ctx, fn) => {
    counters.transactions++;
    return withTenant(ctx, fn);
  };
  mutable.withWholeTenant = (tenantId, fn) => {
    counters.transactions++;
    return withWholeTenant(tenantId, fn);
  };
  mutable.withPlatform = (fn) => {
    counters.transactions++;
    return withPlatform(fn);
  };
}
