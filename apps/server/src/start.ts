import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Config } from './kernel/config.ts';
import { createPasswordHasher } from './kernel/auth/passwords.ts';
import { decodeRevocation, SESSION_CHANNEL, SessionCache } from './kernel/auth/session-cache.ts';
import { createTokenService, loadSigningJwk } from './kernel/auth/tokens.ts';
import { createDatabase, type Database } from './kernel/db/database.ts';
import { migrate } from './kernel/db/migrate.ts';
import { createHttpServer, type App } from './kernel/http/server.ts';
import type { RouteDeclaration } from './kernel/http/guard.ts';
import { createJobQueue, prepareJobQueue, type JobDefinition } from './kernel/jobs/jobs.ts';
import type { Logger } from './kernel/log.ts';
import { createCustomersService, customersRoutes } from './modules/customers/index.ts';
import { createIdentityService, identityRoutes } from './modules/identity/index.ts';
import { opsRoutes } from './modules/ops/index.ts';
import { createOrdersService, orderSummaryJob, ordersRoutes } from './modules/orders/index.ts';
import { createTenancyService, tenancyRoutes, welcomeMailJob } from './modules/tenancy/index.ts';
import type { Platform } from './platform.ts';

/** Every job the worker handles. */
export const JOBS: JobDefinition<any>[] = [welcomeMailJob, orderSummaryJob];

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

function buildServices(platform: Platform) {
  const identity = createIdentityService(platform);
  return {
    identity,
    tenancy: createTenancyService(platform, identity),
    customers: createCustomersService(platform),
    orders: createOrdersService(platform),
  };
}

/** Opens the database and applies migrations (as the owner) and the job queue's schema. */
export async function openDatabase(config: Config): Promise<Database> {
  const db = await createDatabase({
    databaseUrl: config.databaseUrl,
    migrationDatabaseUrl: config.migrationDatabaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolSize: config.databasePoolSize,
    queryTimeoutMs: config.queryTimeoutMs,
  });
  await migrate(db);
  await prepareJobQueue(db, JOBS);
  return db;
}

/**
 * Builds the platform: database, tokens, session cache kept fresh by NOTIFY, job queue, and the
 * HTTP server (api) and/or job handlers (worker). Returns a stop function that drains both.
 */
export async function startPlatform(config: Config, log: Logger, options: StartOptions): Promise<Running> {
  const db = options.db ?? (await openDatabase(config));
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
  const platform: Platform = { config, log, db, tokens, sessions, passwords, jobs };
  const services = buildServices(platform);

  if (options.worker) await jobs.work(JOBS);

  let app: App | null = null;
  let routes: RouteDeclaration[] = [];
  if (options.api) {
    ({ app, routes } = await createHttpServer(config, log, { db, tokens, sessions }));
    opsRoutes(app, platform);
    identityRoutes(app, services.identity, () => tokens.jwks());
    tenancyRoutes(app, services.tenancy);
    customersRoutes(app, services.customers);
    ordersRoutes(app, services.orders);
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
      await stopListening();
      if (!options.db) await db.close();
    },
  };
}
