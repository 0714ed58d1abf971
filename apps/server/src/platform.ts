import type { Redis } from 'ioredis';
import type { Config } from './kernel/config.ts';
import type { Database } from './kernel/db/database.ts';
import type { Logger } from './kernel/log.ts';
import type { PasswordHasher } from './kernel/auth/passwords.ts';
import type { SessionCache } from './kernel/auth/session-cache.ts';
import type { TokenService } from './kernel/auth/tokens.ts';
import type { JobQueue } from './kernel/jobs/jobs.ts';
import type { ThrottleKeys } from './kernel/db/throttle-keys.ts';
import type { AppKeyVerifier } from './modules/apps/index.ts';
import type { FlagCache, KillSwitches } from './modules/flags/index.ts';

/** The shared services every module is given: built once per process in start.ts. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Database;
  tokens: TokenService;
  sessions: SessionCache;
  passwords: PasswordHasher;
  jobs: JobQueue;
  /** The one Redis client of the process (REDIS_URL), null without Redis: shared rate-limit counters. */
  redis: Redis | null;
  /** Managed-application keys, cached per node and evicted by NOTIFY (FR-SYS-002, FR-SYS-003). */
  appKeys: AppKeyVerifier;
  /** Flag definitions, tripped kill switches and tenants' effective flags, cached per node and refreshed by NOTIFY. */
  flags: FlagCache;
  /** The kill switch checks at the point of action (FR-FLAG-003): `switches.assertOpen('messaging', { tenantId })`. */
  switches: KillSwitches;
  /** Keys of the counters that span tenants: login failures, verification codes per destination. */
  throttleKeys: ThrottleKeys;
}
