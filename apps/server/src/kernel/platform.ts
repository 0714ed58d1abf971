import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './log.ts';
import type { PasswordHasher } from './auth/passwords.ts';
import type { SessionCache } from './auth/session-cache.ts';
import type { TokenService } from './auth/tokens.ts';
import type { SecretBox } from './crypto/secret-box.ts';
import type { JobQueue } from './jobs/jobs.ts';
import type { ThrottleKeys } from './db/throttle-keys.ts';
import type { RouteMetrics } from './metrics.ts';
import type { KillSwitchPort } from './switches.ts';
import type { TenantDirectory } from './tenants.ts';
import type { UserDirectory } from './users.ts';

/** The shared services every module is given: built once per process in start.ts. Names no module. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Database;
  tokens: TokenService;
  sessions: SessionCache;
  passwords: PasswordHasher;
  jobs: JobQueue;
  /** Whether this process runs jobs: worker-only resources (signing keys) are loaded only there. */
  worker: boolean;
  /** The one Redis client of the process (REDIS_URL), null without Redis: shared rate-limit counters. */
  redis: Redis | null;
  /** Stored secrets (SSO client secrets, second-factor seeds) are sealed with SECRETS_KEY. */
  secrets: SecretBox;
  /** The kill switch checks at the point of action (FR-FLAG-003): `switches.assertOpen('messaging', { tenantId })`. */
  switches: KillSwitchPort;
  /** Tenant lookups for the modules tenancy builds on (the tenancy module). */
  tenants: TenantDirectory;
  /** User lookups for the modules that may not read the users table (the identity module). */
  users: UserDirectory;
  /** Keys of the counters that span tenants: login failures, verification codes per destination. */
  throttleKeys: ThrottleKeys;
  /** Error rate and p99 per route family, recorded by the HTTP server (FR-SYS-005). */
  metrics: RouteMetrics;
  /** The job queues of this platform, by name: the kernel's and every module's. */
  queues: readonly string[];
  /** The SMTP transport's connection check for readiness; null when mail stays in the dev mailbox. */
  mail: { verify(): Promise<void> } | null;
}
