import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Config } from './kernel/config.ts';
import { createPasswordHasher } from './kernel/auth/passwords.ts';
import { decodeRevocation, SESSION_CHANNEL, SessionCache } from './kernel/auth/session-cache.ts';
import { createTokenService, loadSigningJwk } from './kernel/auth/tokens.ts';
import { loadCheckpointKeys, loadCheckpointSigner, type CheckpointKeys, type CheckpointSigner } from './kernel/audit/checkpoints.ts';
import { loadSecretBox, type SecretBox } from './kernel/crypto/secret-box.ts';
import { createDatabase, type Database } from './kernel/db/database.ts';
import { createThrottleKeys } from './kernel/db/throttle-keys.ts';
import { migrate } from './kernel/db/migrate.ts';
import { createHttpServer, type App } from './kernel/http/server.ts';
import { closeRedis, connectRedis } from './kernel/http/rate-limit.ts';
import type { RouteDeclaration } from './kernel/http/guard.ts';
import { createJobQueue, prepareJobQueue, type AnyJobDefinition, type JobQueueDefinition } from './kernel/jobs/jobs.ts';
import type { Logger } from './kernel/log.ts';
import { NOTIFICATION_JOB, notificationJob, type Transport } from './kernel/notify/notify.ts';
import { createSmtpTransport, devMailboxTransport } from './kernel/notify/transports.ts';
import { accessRoutes, createAccessService, syncPermissionCatalog } from './modules/access/index.ts';
import { API_KEYS_CHANNEL, ApiKeyVerifier, apiKeysRoutes, createApiKeysService } from './modules/api-keys/index.ts';
import { APP_KEYS_CHANNEL, AppKeyVerifier, appsRoutes, createAppsService, decodeAppKeyChange } from './modules/apps/index.ts';
import {
  auditRoutes,
  CHAIN_VERIFICATION_JOB,
  CHAIN_VERIFICATION_QUEUE,
  chainVerificationJob,
  CHECKPOINT_JOB,
  CHECKPOINT_QUEUE,
  checkpointJob,
  createAuditService,
} from './modules/audit/index.ts';
import { billingRetentionJob, billingRoutes, createBillingService } from './modules/billing/index.ts';
import { createCustomersService, customersRoutes } from './modules/customers/index.ts';
import { applyJobSwitches, createFlagsService, FlagCache, flagsRoutes, KillSwitches, switchedJob } from './modules/flags/index.ts';
import { createIdentityService, createPasswordsService, identityRoutes, passwordResetJob, passwordsRoutes } from './modules/identity/index.ts';
import { createImpersonationService, IMPERSONATION_MINUTES, impersonationRoutes } from './modules/impersonation/index.ts';
import { createDeadLettersService, createHealthService, deadLettersRoutes, opsRoutes } from './modules/ops/index.ts';
import { createOrdersService, orderSummaryJob, ordersRoutes } from './modules/orders/index.ts';
import { createSessionsService, sessionsRoutes } from './modules/sessions/index.ts';
import { createSsoService, ssoRoutes } from './modules/sso/index.ts';
import { createMfaService, mfaRoutes } from './modules/mfa/index.ts';
import { createTenancyService, tenancyRoutes } from './modules/tenancy/index.ts';
import { createInvitationsService, createUsersService, usersRoutes } from './modules/users/index.ts';
import { createVerificationService, verificationRoutes } from './modules/verification/index.ts';
import type { Platform } from './platform.ts';

/** Message delivery through a transport; the messaging kill switch of the message's channel holds it back. */
const deliveryJob = (transport: Transport) => switchedJob(notificationJob(transport), { name: 'messaging', channel: (data) => data.channel });

/**
 * Every job queue with its settings: prepared at every start and listed by the health API. The
 * worker binds the jobs that need what only it holds (workerJobs).
 */
export const JOBS: JobQueueDefinition[] = [orderSummaryJob, CHAIN_VERIFICATION_QUEUE, CHECKPOINT_QUEUE, billingRetentionJob, passwordResetJob, deliveryJob(devMailboxTransport)];

/** The worker's audit checkpoint key (it signs) and the keys the daily verification accepts. */
interface WorkerCheckpoints {
  signer: CheckpointSigner;
  keys: CheckpointKeys;
  intervalMinutes: number;
}

/**
 * The jobs the worker handles: message delivery bound to its own transport (SMTP or the dev
 * mailbox), the audit jobs to the checkpoint key only the worker process is given.
 */
function workerJobs(transport: Transport, checkpoints: WorkerCheckpoints): AnyJobDefinition[] {
  const bound: Record<string, AnyJobDefinition> = {
    [NOTIFICATION_JOB]: deliveryJob(transport),
    [CHAIN_VERIFICATION_JOB]: chainVerificationJob(checkpoints.keys),
    [CHECKPOINT_JOB]: checkpointJob(checkpoints.signer, checkpoints.intervalMinutes),
  };
  return JOBS.map((queue) => {
    const definition = bound[queue.name] ?? queue;
    if (!('handle' in definition) && !('run' in definition)) throw new Error(`job ${queue.name} has no handler in the worker`);
    return definition as AnyJobDefinition;
  });
}

const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

export interface StartOptions {
  api: boolean;
  worker: boolean;
  /** An already open database (tests); otherwise opened from the configuration. */
  db?: Database;
}

export interface Running {
  platform: Platform;
  app: App | null;
  routes: RouteDeclaration[];
  services: ReturnType<typeof buildServices>;
  stop(): Promise<void>;
}

function buildServices(platform: Platform, secrets: SecretBox) {
  const identity = createIdentityService(platform);
  return {
    identity,
    passwords: createPasswordsService(platform, secrets),
    tenancy: createTenancyService(platform, identity),
    users: createUsersService(platform),
    invitations: createInvitationsService(platform, identity),
    access: createAccessService(platform),
    customers: createCustomersService(platform),
    orders: createOrdersService(platform),
    audit: createAuditService(platform),
    apps: createAppsService(platform),
    billing: createBillingService(platform),
    flags: createFlagsService(platform),
    impersonation: createImpersonationService(platform),
    apiKeys: createApiKeysService(platform),
    sessions: createSessionsService(platform),
    sso: createSsoService(platform, identity, secrets),
    mfa: createMfaService(platform, identity, secrets),
    verification: createVerificationService(platform),
    deadLetters: createDeadLettersService(platform),
  };
}

/** Opens the database and applies migrations (as the owner) and the job queue's schema. */
export async function openDatabase(config: Config, log?: Logger): Promise<Database> {
  const db = await createDatabase({
    databaseUrl: config.databaseUrl,
    migrationDatabaseUrl: config.migrationDatabaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolSize: config.databasePoolSize,
    queryTimeoutMs: config.queryTimeoutMs,
    log,
  });
  await prepareDatabase(db);
  return db;
}

/** Migrations, the permission catalog copied from code, and the job queue's schema. */
export async function prepareDatabase(db: Database): Promise<void> {
  await migrate(db);
  await syncPermissionCatalog(db.owner);
  await prepareJobQueue(db, JOBS);
}

/**
 * Builds the platform: database, tokens, session cache kept fresh by NOTIFY, job queue, and the
 * HTTP server (api) and/or job handlers (worker). Returns a stop function that drains both.
 */
export async function startPlatform(config: Config, log: Logger, options: StartOptions): Promise<Running> {
  const db = options.db ?? (await openDatabase(config, log));
  const tokens = await createTokenService({
    privateJwk: await loadSigningJwk(config.signingKey, config.dataDir),
    issuer: config.publicUrl,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
    impersonationTtlSeconds: IMPERSONATION_MINUTES * 60,
  });
  const sessions = new SessionCache(config.sessionCacheTtlMs);
  // Tenant API keys follow their own channel and the sessions channel (roles, creators, tenants).
  const apiKeys = new ApiKeyVerifier(db, log, config.sessionCacheTtlMs);
  const stopListening = await db.listen(
    SESSION_CHANNEL,
    (payload) => {
      sessions.apply(decodeRevocation(payload));
      apiKeys.applySessionChange(decodeRevocation(payload));
    },
    // Notifications may have been missed while the listener was down: forget everything.
    () => {
      sessions.apply({ kind: 'all' });
      apiKeys.clear();
    },
  );
  const stopListeningForApiKeys = await db.listen(
    API_KEYS_CHANNEL,
    (payload) => apiKeys.applyKeyChange(payload),
    () => apiKeys.clear(),
  );
  // Application keys: revocations and disabled applications reach every node's cache by NOTIFY.
  const appKeys = new AppKeyVerifier(db, log);
  const stopListeningForKeys = await db.listen(
    APP_KEYS_CHANNEL,
    (payload) => appKeys.apply(decodeAppKeyChange(payload)),
    () => appKeys.apply({ kind: 'all' }),
  );
  // Flags and kill switches: every node's copy follows NOTIFY, with FLAG_CACHE_TTL_MS as the backstop.
  const flags = new FlagCache(db, log, { ttlMs: config.flagCacheTtlMs });
  await flags.start();
  const switches = new KillSwitches(flags);
  const passwords = await createPasswordHasher(config.argon2);
  const jobs = await createJobQueue(db, log, { worker: options.worker });
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : null;
  // SSO client secrets and other stored secrets are sealed with SECRETS_KEY (required in production).
  const secrets = await loadSecretBox({ keys: config.secretsKeys, environment: config.environment, dataDir: config.dataDir });
  const throttleKeys = createThrottleKeys(secrets.deriveKey('tsv throttle keys'));
  const platform: Platform = { config, log, db, tokens, sessions, passwords, jobs, appKeys, redis, flags, switches, throttleKeys };
  const services = buildServices(platform, secrets);
  if (config.superAdminEmailsIgnored) log.warn({ environment: config.environment }, 'SUPER_ADMIN_EMAILS is ignored: it is honoured only when ENVIRONMENT=staging');

  // Email goes out through SMTP when SMTP_URL is set, else to the dev mailbox (docs/verification-and-mail.md).
  const smtp = config.smtpUrl ? createSmtpTransport({ url: config.smtpUrl, from: config.smtpFrom, log }) : null;
  const transport = smtp ?? devMailboxTransport;
  if (!smtp && config.environment === 'production') log.warn('SMTP_URL is not set: email is kept in the development mailbox and never leaves');
  if (options.worker) {
    // FR-AUD-002: the checkpoint key is the worker's alone (AUDIT_CHECKPOINT_KEY, or generated in
    // DATA_DIR outside production); the database and the API processes never hold it.
    const signer = await loadCheckpointSigner(config);
    const checkpoints = { signer, keys: await loadCheckpointKeys(config, signer), intervalMinutes: config.auditCheckpointIntervalMinutes };
    // Jobs a kill switch holds back are deferred, not run, while it is tripped.
    await jobs.work(applyJobSwitches(workerJobs(transport, checkpoints), { switches, jobs }));
  } else if (config.auditCheckpointKey) {
    log.warn('AUDIT_CHECKPOINT_KEY is set for a process that runs no worker: only the worker signs audit checkpoints, give the key to the worker processes only');
  }

  let app: App | null = null;
  let routes: RouteDeclaration[] = [];
  if (options.api) {
    const server = await createHttpServer(config, log, { db, tokens, sessions, apps: appKeys, apiKeys, redis });
    ({ app, routes } = server);
    opsRoutes(app, platform, createHealthService(platform, { metrics: server.metrics, queues: JOBS.map((job) => job.name), mail: smtp }));
    deadLettersRoutes(app, services.deadLetters);
    identityRoutes(app, services.identity, () => tokens.jwks());
    passwordsRoutes(app, services.passwords);
    tenancyRoutes(app, services.tenancy);
    usersRoutes(app, services.users, services.invitations);
    accessRoutes(app, services.access);
    customersRoutes(app, services.customers);
    ordersRoutes(app, services.orders);
    auditRoutes(app, services.audit);
    appsRoutes(app, services.apps);
    billingRoutes(app, services.billing);
    flagsRoutes(app, services.flags, appKeys);
    impersonationRoutes(app, services.impersonation);
    apiKeysRoutes(app, services.apiKeys);
    sessionsRoutes(app, services.sessions);
    ssoRoutes(app, services.sso);
    mfaRoutes(app, services.mfa);
    verificationRoutes(app, services.verification);
    if (fs.existsSync(path.join(CONSOLE_DIST, 'index.html'))) {
      await app.register(fastifyStatic, { root: CONSOLE_DIST });
    }
    await app.ready();
  }

  return {
    platform,
    app,
    routes,
    services,
    async stop() {
      // Stop taking requests, finish the ones in flight, then let running jobs finish.
      if (app) await app.close();
      await jobs.stop(config.shutdownGraceMs);
      smtp?.close();
      await stopListening();
      await stopListeningForKeys();
      await stopListeningForApiKeys();
      await flags.stop();
      if (redis) await closeRedis(redis);
      if (!options.db) await db.close();
    },
  };
}
