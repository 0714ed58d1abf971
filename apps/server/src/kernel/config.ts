import path from 'node:path';

/**
 * Typed configuration, read once from the environment and validated at start.
 * A bad value stops the process with a message naming the variable.
 * Every variable is listed in README.md (name, default, secret or not).
 */
export type Environment = 'development' | 'test' | 'staging' | 'production';

export interface Config {
  environment: Environment;
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  /** Unset: embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** Owner connection used for migrations and the job queue; defaults to databaseUrl. */
  migrationDatabaseUrl: string | undefined;
  databasePoolSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  requestTimeoutMs: number;
  queryTimeoutMs: number;
  bodyLimitBytes: number;
  jwtAudience: string;
  /** Ed25519 private key as a JWK (JSON). Unset outside production: generated once and kept in dataDir. */
  signingKey: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  sessionAbsoluteTtlSeconds: number;
  sessionCacheTtlMs: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  seedDemo: boolean;
  demoPassword: string | undefined;
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const environment = oneOf(env, 'ENVIRONMENT', ['development', 'test', 'staging', 'production'], 'development');
  const port = int(env, 'PORT', 3000, 0, 65535);
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const signingKey = env.SIGNING_KEY || undefined;
  if (environment === 'production' && !signingKey) {
    throw new ConfigError('SIGNING_KEY', 'is required in production');
  }
  if (environment === 'production' && !databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required in production (the embedded database is for development)');
  }
  const demoPassword = env.DEMO_PASSWORD || undefined;
  if (demoPassword !== undefined && demoPassword.length < 12) {
    throw new ConfigError('DEMO_PASSWORD', 'must be at least 12 characters');
  }
  return {
    environment,
    host: env.HOST || '0.0.0.0',
    port,
    publicUrl: (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/$/, ''),
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl,
    migrationDatabaseUrl: url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']) ?? databaseUrl,
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
    queryTimeoutMs: int(env, 'QUERY_TIMEOUT_MS', 5_000, 50, 600_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 104_857_600),
    jwtAudience: env.JWT_AUDIENCE || 'tsv-baseline',
    signingKey,
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 60, 86_400),
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 86_400, 300, 90 * 86_400),
    sessionAbsoluteTtlSeconds: int(env, 'SESSION_ABSOLUTE_TTL_SECONDS', 12 * 3600, 300, 30 * 86_400),
    sessionCacheTtlMs: int(env, 'SESSION_CACHE_TTL_MS', 30_000, 0, 300_000),
    argon2: {
      // OWASP password storage recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
      memoryCost: int(env, 'ARGON2_MEMORY_KIB', 19_456, 1024, 4_194_304),
      timeCost: int(env, 'ARGON2_TIME_COST', 2, 1, 20),
      parallelism: int(env, 'ARGON2_PARALLELISM', 1, 1, 16),
    },
    seedDemo: bool(env, 'SEED_DEMO', environment === 'development'),
    demoPassword,
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 300_000),
  };
}
