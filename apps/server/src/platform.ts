import type { Config } from './kernel/config.ts';
import type { Database } from './kernel/db/database.ts';
import type { Logger } from './kernel/log.ts';
import type { PasswordHasher } from './kernel/auth/passwords.ts';
import type { SessionCache } from './kernel/auth/session-cache.ts';
import type { TokenService } from './kernel/auth/tokens.ts';
import type { JobQueue } from './kernel/jobs/jobs.ts';

/** The shared services every module is given: built once per process in start.ts. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Database;
  tokens: TokenService;
  sessions: SessionCache;
  passwords: PasswordHasher;
  jobs: JobQueue;
}
