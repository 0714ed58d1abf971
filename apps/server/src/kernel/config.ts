import { isIP } from 'node:net';
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
  /** The product policy file (PRODUCT names one under products/, PRODUCT_POLICY gives a path); see kernel/policy.ts. */
  productPolicyFile: string;
  /** Unset: embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** Owner connection used for migrations and the job queue; defaults to databaseUrl. */
  migrationDatabaseUrl: string | undefined;
  databasePoolSize: number;
  /** Redis, optional (REDIS_URL): shared state across nodes where configured; the health API pings it. */
  redisUrl: string | undefined;
  /** Prefix of every key this deployment writes to Redis (several deployments may share one). */
  redisKeyPrefix: string;
  /**
   * Proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); empty: the client
   * address is the socket's, whatever the headers say.
   */
  trustedProxies: string[];
  /** Requests per minute (FR-RATE-001); see docs/rate-limits.md. */
  rateLimits: {
    enabled: boolean;
    userPerMinute: number;
    tenantPerMinute: number;
    /** Requests a tenant may make past its per-minute limit, once per burst window. */
    tenantBurst: number;
    tenantBurstWindowSeconds: number;
    ipPerMinute: number;
    loginPerMinute: number;
    appPerMinute: number;
  };
  /** Requests one tenant may have in flight on one node (FR-TEN-008); limit 0 turns the bound off. */
  tenantConcurrency: { limit: number; queueLength: number; queueTimeoutMs: number };
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
  /** A session unused this long is refused (FR-AUTH-008); tenants may shorten it. */
  sessionIdleTimeoutSeconds: number;
  /** The absolute lifetime of administrators' sessions (owners, admins, platform staff). */
  sessionAdminTtlSeconds: number;
  sessionCacheTtlMs: number;
  /** How long a node trusts its copy of flags and kill switches; NOTIFY refreshes it sooner. */
  flagCacheTtlMs: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  seedDemo: boolean;
  /** FR-AUD-005: routes marked sensitive audit every successful read (AUDIT_ON_READ). */
  auditOnRead: boolean;
  /**
   * FR-AUD-002: the Ed25519 private key (JWK) the worker signs audit checkpoints with
   * (AUDIT_CHECKPOINT_KEY). Only the worker needs it; required for it in production, generated once
   * and kept in dataDir elsewhere.
   */
  auditCheckpointKey: Ed25519Jwk | undefined;
  /**
   * Public keys the verifier accepts checkpoints from (AUDIT_CHECKPOINT_PUBLIC_KEY), the current
   * key's and those of keys rotated out; the private key's own public half is always accepted.
   */
  auditCheckpointPublicKeys: Ed25519Jwk[];
  /** How often the worker signs the chain heads that moved (AUDIT_CHECKPOINT_INTERVAL_MINUTES). */
  auditCheckpointIntervalMinutes: number;
  demoPassword: string | undefined;
  shutdownGraceMs: number;
  /**
   * AES-256-GCM keys for secrets stored in the database (SECRETS_KEY, base64 of 32 bytes), newest
   * first: the first seals, every one opens (SECRETS_KEY_PREVIOUS, for rotation). Unset outside
   * production: generated once and kept in dataDir.
   */
  secretsKeys: string[];
  /** Hosts outbound calls (identity providers) may reach over plain HTTP or at private addresses (OUTBOUND_ALLOW_HOSTS). */
  outboundAllowHosts: string[];
  /** Operator single sign-on (FR-AUTH-011); null when PLATFORM_OIDC_ISSUER is unset. */
  platformOidc: PlatformOidcConfig | null;
  /**
   * Operator emails elevated to Super Admin at login (FR-RBAC-006, SUPER_ADMIN_EMAILS). Honoured
   * only when ENVIRONMENT=staging: empty in every other environment.
   */
  superAdminEmails: string[];
  /** SUPER_ADMIN_EMAILS was set outside staging and is ignored; the process warns at start. */
  superAdminEmailsIgnored: boolean;
  /** SMTP server for email (SMTP_URL, smtp: or smtps:, credentials in the URL); unset: the dev mailbox. */
  smtpUrl: string | undefined;
  /** The From of every email (SMTP_FROM). */
  smtpFrom: string;
  /** FR-AUTH-014: sensitive routes need a recent second factor (STEP_UP_ENFORCED; how recent is the policy's mfa.step_up_max_age_seconds). */
  stepUpEnforced: boolean;
  /** Platform staff must sign in with a second factor (PLATFORM_MFA_REQUIRED). */
  platformMfaRequired: boolean;
  /** WebAuthn relying party: its id (a domain), its name, and the origins browsers sign for. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
}

/** An Ed25519 key as a JWK (RFC 8037): `d` only in a private key. */
export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
}

export interface PlatformOidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Email domains whose staff may sign in (and be provisioned on first sign-in). */
  allowedDomains: string[];
  /** The platform role given to staff provisioned on first sign-in. */
  defaultRole: 'operator' | 'support' | 'auditor';
  /** Members of this identity provider group get Super Admin sessions (FR-RBAC-006); null: nobody. */
  superAdminGroup: string | null;
  groupsClaim: string;
}

const PRODUCTS = path.resolve(import.meta.dirname, '../../../../products');

/** PRODUCT=<name> is products/<name>/policy.yaml; PRODUCT_POLICY=<path> any file; neither: the baseline's. */
function productPolicyFile(env: Env): string {
  const product = env.PRODUCT;
  const file = env.PRODUCT_POLICY;
  if (product && file) throw new ConfigError('PRODUCT_POLICY', 'and PRODUCT name two policies: set one of them');
  if (file) return path.resolve(file);
  if (product !== undefined && !/^[a-z][a-z0-9-]{0,62}$/.test(product)) throw new ConfigError('PRODUCT', `must be a product folder name (lower case, digits, dashes), got "${product}"`);
  return path.join(PRODUCTS, product || 'baseline', 'policy.yaml');
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

function redisKeyPrefix(env: Env): string {
  const raw = env.REDIS_KEY_PREFIX || 'tsv';
  if (!/^[A-Za-z0-9_:.-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 letters, digits or _:.-');
  return raw;
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

const ADDRESS_BLOCK = /^([0-9a-f.:]+)(?:\/(\d{1,3}))?$/i;

/** Comma-separated addresses or CIDR blocks, or the names proxy-addr knows (loopback, …). */
function addressList(env: Env, name: string): string[] {
  const entries = (env[name] ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const match = ADDRESS_BLOCK.exec(entry);
    const version = match ? isIP(match[1]!) : 0;
    const bits = match?.[2] === undefined ? 0 : Number(match[2]);
    if (!version || bits > (version === 4 ? 32 : 128)) {
      throw new ConfigError(name, `must list IP addresses or CIDR blocks separated by commas, got "${entry}"`);
    }
  }
  return entries;
}

/** Comma-separated email addresses, normalised as logins normalise them. */
function emailList(env: Env, name: string): string[] {
  const entries = (env[name] ?? '').split(',').map((entry) => entry.normalize('NFKC').trim().toLowerCase()).filter(Boolean);
  for (const entry of entries) {
    if (!/^[^@\s]+@[^@\s]+$/.test(entry) || entry.length > 320) throw new ConfigError(name, `must list email addresses separated by commas, got "${entry}"`);
  }
  return entries;
}

/** WEBAUTHN_RP_ID (a domain) and WEBAUTHN_ORIGINS (comma-separated origins) default to PUBLIC_URL's. */
function webauthnConfig(env: Env, publicUrl: string): Config['webauthn'] {
  const origins = (env.WEBAUTHN_ORIGINS ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError('WEBAUTHN_ORIGINS', `must list origins such as https://app.example.com, got "${origin}"`);
  }
  const rpId = env.WEBAUTHN_RP_ID || new URL(publicUrl).hostname;
  if (!/^[a-z0-9.-]{1,253}$/i.test(rpId)) throw new ConfigError('WEBAUTHN_RP_ID', `must be a domain name, got "${rpId}"`);
  return { rpId, rpName: env.WEBAUTHN_RP_NAME || 'TSV Baseline', origins: origins.length > 0 ? origins : [new URL(publicUrl).origin] };
}

/** SECRETS_KEY then SECRETS_KEY_PREVIOUS (comma-separated), each the base64 of 32 bytes. */
function secretsKeys(env: Env): string[] {
  const keys: string[] = [];
  for (const name of ['SECRETS_KEY', 'SECRETS_KEY_PREVIOUS']) {
    for (const entry of (env[name] ?? '').split(',').map((value) => value.trim()).filter(Boolean)) {
      if (Buffer.from(entry, 'base64').length !== 32) throw new ConfigError(name, 'must be the base64 of 32 random bytes');
      keys.push(entry);
    }
  }
  if (keys.length > 0 && !env.SECRETS_KEY) throw new ConfigError('SECRETS_KEY', 'is required when SECRETS_KEY_PREVIOUS is set');
  return keys;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function ed25519Jwk(value: unknown, name: string, kind: 'private' | 'public'): Ed25519Jwk {
  const jwk = value as Partial<Record<string, unknown>> | null;
  const ok =
    jwk !== null &&
    typeof jwk === 'object' &&
    jwk.kty === 'OKP' &&
    jwk.crv === 'Ed25519' &&
    typeof jwk.x === 'string' &&
    BASE64URL.test(jwk.x) &&
    (kind === 'private' ? typeof jwk.d === 'string' && BASE64URL.test(jwk.d) : jwk.d === undefined);
  if (!ok) throw new ConfigError(name, kind === 'private' ? 'must be an Ed25519 private key as a JWK' : 'must hold Ed25519 public keys as JWKs (no private part)');
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string, ...(kind === 'private' ? { d: jwk.d as string } : {}) };
}

function json(env: Env, name: string): unknown {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ConfigError(name, 'must be JSON');
  }
}

/** AUDIT_CHECKPOINT_PUBLIC_KEY: one JWK, an array of them, or a JWK set (`{ "keys": [...] }`). */
function publicKeys(env: Env, name: string): Ed25519Jwk[] {
  const value = json(env, name);
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : value !== null && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys) ? (value as { keys: unknown[] }).keys : [value];
  return list.map((entry) => ed25519Jwk(entry, name, 'public'));
}

/** Intervals that divide the hour or the day evenly, so every run is the same distance apart. */
const CHECKPOINT_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

function checkpointInterval(env: Env): number {
  const minutes = int(env, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES', 60, 1, 1440);
  if (!CHECKPOINT_INTERVALS.includes(minutes)) {
    throw new ConfigError('AUDIT_CHECKPOINT_INTERVAL_MINUTES', `must divide an hour or a day evenly (${CHECKPOINT_INTERVALS.join(', ')}), got ${minutes}`);
  }
  return minutes;
}

/**
 * Settings that only one process role needs, checked where that role starts (main.ts): the API
 * never signs audit checkpoints, so it runs without their key.
 */
export function checkRoleConfig(config: Config, role: { api: boolean; worker: boolean }): void {
  if (role.worker && config.environment === 'production' && !config.auditCheckpointKey) {
    throw new ConfigError('AUDIT_CHECKPOINT_KEY', 'is required in production for the worker, which signs the audit checkpoints');
  }
}

function platformOidc(env: Env): PlatformOidcConfig | null {
  const issuer = url(env, 'PLATFORM_OIDC_ISSUER', ['https:', 'http:']);
  if (!issuer) return null;
  const clientId = env.PLATFORM_OIDC_CLIENT_ID;
  const clientSecret = env.PLATFORM_OIDC_CLIENT_SECRET;
  if (!clientId) throw new ConfigError('PLATFORM_OIDC_CLIENT_ID', 'is required when PLATFORM_OIDC_ISSUER is set');
  if (!clientSecret) throw new ConfigError('PLATFORM_OIDC_CLIENT_SECRET', 'is required when PLATFORM_OIDC_ISSUER is set');
  const allowedDomains = (env.PLATFORM_OIDC_ALLOWED_DOMAINS ?? '').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  if (allowedDomains.length === 0 || !allowedDomains.every((domain) => /^[a-z0-9.-]{1,253}$/.test(domain))) {
    throw new ConfigError('PLATFORM_OIDC_ALLOWED_DOMAINS', 'must list the email domains of staff, separated by commas');
  }
  return {
    issuer,
    clientId,
    clientSecret,
    allowedDomains,
    defaultRole: oneOf(env, 'PLATFORM_OIDC_DEFAULT_ROLE', ['operator', 'support', 'auditor'], 'support'),
    superAdminGroup: env.PLATFORM_OIDC_SUPER_ADMIN_GROUP || null,
    groupsClaim: env.PLATFORM_OIDC_GROUPS_CLAIM || 'groups',
  };
}

/** A bare address or `Name <address>`; no line breaks (header injection). */
function smtpFrom(env: Env): string {
  const raw = (env.SMTP_FROM || 'TSV Baseline <no-reply@localhost>').trim();
  if (!/^(?:[^<>\r\n]{0,100}<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(raw)) {
    throw new ConfigError('SMTP_FROM', 'must be an address or "Name <address>"');
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
  const databasePoolSize = int(env, 'DATABASE_POOL_SIZE', 10, 1, 500);
  const tenantPerMinute = int(env, 'RATE_LIMIT_TENANT_PER_MINUTE', 300, 1, 1_000_000_000);
  const superAdminEmails = emailList(env, 'SUPER_ADMIN_EMAILS');
  const demoPassword = env.DEMO_PASSWORD || undefined;
  if (demoPassword !== undefined && demoPassword.length < 12) {
    throw new ConfigError('DEMO_PASSWORD', 'must be at least 12 characters');
  }
  const checkpointKey = json(env, 'AUDIT_CHECKPOINT_KEY');
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/$/, '');
  return {
    environment,
    host: env.HOST || '0.0.0.0',
    port,
    publicUrl,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    productPolicyFile: productPolicyFile(env),
    databaseUrl,
    migrationDatabaseUrl: url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']) ?? databaseUrl,
    databasePoolSize,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: redisKeyPrefix(env),
    trustedProxies: addressList(env, 'TRUSTED_PROXIES'),
    rateLimits: {
      // Automated tests make far more requests a minute than a person; the limiter's own tests turn it on.
      enabled: bool(env, 'RATE_LIMIT_ENABLED', environment !== 'test'),
      userPerMinute: int(env, 'RATE_LIMIT_USER_PER_MINUTE', 60, 1, 1_000_000_000),
      tenantPerMinute,
      tenantBurst: int(env, 'RATE_LIMIT_TENANT_BURST', tenantPerMinute, 0, 1_000_000_000),
      tenantBurstWindowSeconds: int(env, 'RATE_LIMIT_TENANT_BURST_WINDOW_SECONDS', 600, 60, 86_400),
      ipPerMinute: int(env, 'RATE_LIMIT_IP_PER_MINUTE', 120, 1, 1_000_000_000),
      loginPerMinute: int(env, 'RATE_LIMIT_LOGIN_PER_MINUTE', 10, 1, 1_000_000_000),
      appPerMinute: int(env, 'RATE_LIMIT_APP_PER_MINUTE', 600, 1, 1_000_000_000),
    },
    tenantConcurrency: {
      // Half the pool: one tenant alone can never hold every connection.
      limit: int(env, 'TENANT_CONCURRENCY', Math.max(1, Math.floor(databasePoolSize / 2)), 0, 10_000),
      queueLength: int(env, 'TENANT_QUEUE_LENGTH', 50, 0, 100_000),
      queueTimeoutMs: int(env, 'TENANT_QUEUE_TIMEOUT_MS', 5_000, 0, 600_000),
    },
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
    queryTimeoutMs: int(env, 'QUERY_TIMEOUT_MS', 5_000, 50, 600_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 104_857_600),
    jwtAudience: env.JWT_AUDIENCE || 'tsv-baseline',
    signingKey,
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 60, 86_400),
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 86_400, 300, 90 * 86_400),
    sessionAbsoluteTtlSeconds: int(env, 'SESSION_ABSOLUTE_TTL_SECONDS', 12 * 3600, 300, 30 * 86_400),
    sessionIdleTimeoutSeconds: int(env, 'SESSION_IDLE_TIMEOUT_SECONDS', 1800, 60, 30 * 86_400),
    sessionAdminTtlSeconds: int(env, 'SESSION_ADMIN_TTL_SECONDS', 4 * 3600, 300, 30 * 86_400),
    sessionCacheTtlMs: int(env, 'SESSION_CACHE_TTL_MS', 30_000, 0, 300_000),
    flagCacheTtlMs: int(env, 'FLAG_CACHE_TTL_MS', 5_000, 100, 60_000),
    argon2: {
      // OWASP password storage recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
      memoryCost: int(env, 'ARGON2_MEMORY_KIB', 19_456, 1024, 4_194_304),
      timeCost: int(env, 'ARGON2_TIME_COST', 2, 1, 20),
      parallelism: int(env, 'ARGON2_PARALLELISM', 1, 1, 16),
    },
    seedDemo: bool(env, 'SEED_DEMO', environment === 'development'),
    auditOnRead: bool(env, 'AUDIT_ON_READ', true),
    auditCheckpointKey: checkpointKey === undefined ? undefined : ed25519Jwk(checkpointKey, 'AUDIT_CHECKPOINT_KEY', 'private'),
    auditCheckpointPublicKeys: publicKeys(env, 'AUDIT_CHECKPOINT_PUBLIC_KEY'),
    auditCheckpointIntervalMinutes: checkpointInterval(env),
    demoPassword,
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 300_000),
    secretsKeys: secretsKeys(env),
    outboundAllowHosts: (env.OUTBOUND_ALLOW_HOSTS ?? '').split(',').map((entry) => entry.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')).filter(Boolean),
    platformOidc: platformOidc(env),
    superAdminEmails: environment === 'staging' ? superAdminEmails : [],
    superAdminEmailsIgnored: environment !== 'staging' && superAdminEmails.length > 0,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    smtpFrom: smtpFrom(env),
    // Automated tests sign in with passwords only; the step-up tests turn it on.
    stepUpEnforced: bool(env, 'STEP_UP_ENFORCED', environment !== 'test'),
    platformMfaRequired: bool(env, 'PLATFORM_MFA_REQUIRED', environment === 'production'),
    webauthn: webauthnConfig(env, publicUrl),
  };
}
