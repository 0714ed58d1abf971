import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Config } from './kernel/config.ts';
import { createPasswordHasher } from './kernel/auth/passwords.ts';
import { decodeRevocation, SESSION_CHANNEL, SessionCache } from './kernel/auth/session-cache.ts';
import { createTokenService, loadSigningJwk } from './kernel/auth/tokens.ts';
import { loadSecretBox } from './kernel/crypto/secret-box.ts';
import { createDatabase, type Database } from './kernel/db/database.ts';
import { createThrottleKeys } from './kernel/db/throttle-keys.ts';
import { migrate } from './kernel/db/migrate.ts';
import { RouteMetrics } from './kernel/metrics.ts';
import { createHttpServer, type App } from './kernel/http/server.ts';
import { closeRedis, connectRedis } from './kernel/redis.ts';
import type { RouteDeclaration } from './kernel/http/guard.ts';
import { createJobQueue, prepareJobQueue, type AnyJobDefinition, type JobQueueDefinition } from './kernel/jobs/jobs.ts';
import type { Logger } from './kernel/log.ts';
import type { BuiltModule, KernelPorts, ModuleParts } from './kernel/module.ts';
import { NOTIFICATION_JOB, notificationJob, type Transport } from './kernel/notify/notify.ts';
import { createSmtpTransport, devMailboxTransport } from './kernel/notify/transports.ts';
import type { Platform } from './kernel/platform.ts';
import { loadPolicy, type Policy, type PolicySections } from './kernel/policy.ts';
import { applyJobSwitches, createSwitchPort, switchedJob } from './kernel/switches.ts';
import { createTenantDirectoryPort } from './kernel/tenants.ts';
import { createUserDirectoryPort } from './kernel/users.ts';
import { MODULES, type ModuleServices, type ProductPolicy } from './modules/index.ts';

/** Message delivery through a transport; the messaging kill switch of the message's channel holds it back. */
const deliveryJob = (transport: Transport) => switchedJob(notificationJob(transport), { name: 'messaging', channel: (data) => data.channel });

/**
 * Every job queue with its settings, the kernel's and the modules': prepared at every start and
 * listed by the health API.
 */
export const JOBS: readonly (JobQueueDefinition | AnyJobDefinition)[] = [deliveryJob(devMailboxTransport), ...MODULES.flatMap((module) => module.jobs ?? [])];

/**
 * The jobs the worker handles: each queue's handler from the module's parts when it needs what
 * only this process holds (a key), else its declared definition; message delivery is bound to
 * this process's transport (SMTP or the dev mailbox).
 */
function workerJobs(transport: Transport, parts: readonly ModuleParts<unknown>[]): AnyJobDefinition[] {
  const bound = new Map<string, AnyJobDefinition>([[NOTIFICATION_JOB, deliveryJob(transport)]]);
  for (const handler of parts.flatMap((part) => part.jobHandlers ?? [])) bound.set(handler.name, handler);
  return JOBS.map((queue) => {
    const definition = bound.get(queue.name) ?? queue;
    if (!('handle' in definition) && !('run' in definition)) throw new Error(`job ${queue.name} has no handler in the worker`);
    return definition as AnyJobDefinition;
  });
}

/** The sections of the product policy: each module's that declares one. */
export const POLICY_SECTIONS: PolicySections = Object.fromEntries(MODULES.flatMap((module) => (module.policy ? [[module.name, module.policy]] : [])));

const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

export interface StartOptions {
  api: boolean;
  worker: boolean;
  /** The product policy, already validated; otherwise loaded from the configuration's file. */
  policy?: Policy;
  /** An already open database (tests); otherwise opened from the configuration. */
  db?: Database;
}

export interface Running {
  platform: Platform;
  app: App | null;
  routes: RouteDeclaration[];
  services: ModuleServices;
  /** Each module with what it added to this process, in the order of the list. */
  modules: BuiltModule[];
  /** The product policy the modules were built with. */
  policy: ProductPolicy;
  stop(): Promise<void>;
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

/** Migrations, what each module prepares (the permission catalog copied from code), and the job queue's schema. */
export async function prepareDatabase(db: Database): Promise<void> {
  await migrate(db);
  for (const module of MODULES) await module.prepare?.(db.owner);
  await prepareJobQueue(db, JOBS);
}

/**
 * Builds the platform: database, tokens, session cache kept fresh by NOTIFY, job queue, and the
 * HTTP server (api) and/or job handlers (worker). Returns a stop function that drains both.
 */
export async function startPlatform(config: Config, log: Logger, options: StartOptions): Promise<Running> {
  const policy = options.policy ?? loadPolicy(config.productPolicyFile, POLICY_SECTIONS);
  const db = options.db ?? (await openDatabase(config, log));
  const tokens = await createTokenService({
    privateJwk: await loadSigningJwk(config.signingKey, config.dataDir),
    issuer: config.publicUrl,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
  });
  const sessions = new SessionCache(config.sessionCacheTtlMs);
  const stopListening = await db.listen(
    SESSION_CHANNEL,
    (payload) => sessions.apply(decodeRevocation(payload)),
    // Notifications may have been missed while the listener was down: forget everything.
    () => sessions.apply({ kind: 'all' }),
  );
  const passwords = await createPasswordHasher(config.argon2);
  const jobs = await createJobQueue(db, log, { worker: options.worker });
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : null;
  // SSO client secrets and other stored secrets are sealed with SECRETS_KEY (required in production).
  const secrets = await loadSecretBox({ keys: config.secretsKeys, environment: config.environment, dataDir: config.dataDir });
  const throttleKeys = createThrottleKeys(secrets.deriveKey('tsv throttle keys'));
  // Email goes out through SMTP when SMTP_URL is set, else to the dev mailbox (docs/verification-and-mail.md).
  const smtp = config.smtpUrl ? createSmtpTransport({ url: config.smtpUrl, from: config.smtpFrom, log }) : null;
  if (!smtp && config.environment === 'production') log.warn('SMTP_URL is not set: email is kept in the development mailbox and never leaves');
  if (config.superAdminEmailsIgnored) log.warn({ environment: config.environment }, 'SUPER_ADMIN_EMAILS is ignored: it is honoured only when ENVIRONMENT=staging');
  const switches = createSwitchPort();
  const tenants = createTenantDirectoryPort();
  const users = createUserDirectoryPort();
  const platform: Platform = {
    config,
    log,
    db,
    tokens,
    sessions,
    passwords,
    jobs,
    worker: options.worker,
    redis,
    secrets,
    switches,
    tenants,
    users,
    throttleKeys,
    metrics: new RouteMetrics(),
    queues: JOBS.map((job) => job.name),
    mail: smtp,
  };

  // Each module after the ones it depends on, given only their services.
  const services: Record<string, unknown> = {};
  const parts: ModuleParts<unknown>[] = [];
  const ports: Partial<KernelPorts> = {};
  const built: BuiltModule[] = [];
  for (const module of MODULES) {
    const deps: Record<string, unknown> = {};
    for (const name of module.dependsOn as readonly string[]) {
      if (!(name in services)) throw new Error(`module ${module.name} depends on ${name}, which is not built before it in modules/index.ts`);
      deps[name] = services[name];
    }
    const part: ModuleParts<unknown> = await module.create(platform, deps as never, policy[module.name] as never);
    services[module.name] = part.service;
    parts.push(part);
    built.push({ name: module.name, summary: module.summary, dependsOn: module.dependsOn, tables: module.tables, jobs: (module.jobs ?? []).map((job) => job.name), routes: [] });
    for (const [port, implementation] of Object.entries(part.provides ?? {})) {
      if (port in ports) throw new Error(`module ${module.name} provides the ${port} port, which another module provides already`);
      Object.assign(ports, { [port]: implementation });
    }
  }
  if (ports.switches) switches.bind(ports.switches);
  if (ports.tenants) tenants.bind(ports.tenants);
  if (ports.users) users.bind(ports.users);

  if (options.worker) {
    // Jobs a kill switch holds back are deferred, not run, while it is tripped.
    await jobs.work(applyJobSwitches(workerJobs(smtp ?? devMailboxTransport, parts), { switches, jobs }));
  }

  let app: App | null = null;
  let routes: RouteDeclaration[] = [];
  if (options.api) {
    ({ app, routes } = await createHttpServer(config, log, {
      db,
      tokens,
      sessions,
      metrics: platform.metrics,
      apps: ports.applicationKeys,
      apiKeys: ports.apiKeys,
      redis,
      stepUp: { enforced: config.stepUpEnforced, maxAgeSeconds: (policy as ProductPolicy).mfa.step_up_max_age_seconds },
    }));
    for (const [i, part] of parts.entries()) {
      const before = routes.length;
      part.routes?.(app);
      built[i]!.routes.push(...routes.slice(before).map((route) => `${route.method} ${route.url}`));
    }
    if (fs.existsSync(path.join(CONSOLE_DIST, 'index.html'))) {
      await app.register(fastifyStatic, { root: CONSOLE_DIST });
    }
    await app.ready();
  }

  return {
    platform,
    app,
    routes,
    services: services as ModuleServices,
    modules: built,
    policy: policy as ProductPolicy,
    async stop() {
      // Stop taking requests, finish the ones in flight, then let running jobs finish.
      if (app) await app.close();
      await jobs.stop(config.shutdownGraceMs);
      smtp?.close();
      await stopListening();
      for (const part of [...parts].reverse()) await part.stop?.();
      if (redis) await closeRedis(redis);
      if (!options.db) await db.close();
    },
  };
}
