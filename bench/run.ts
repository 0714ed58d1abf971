/**
 * Benchmark harness (DESIGN.md, "Performance targets"). Creates a database of its own on a
 * PostgreSQL server, starts the whole platform in this process (API and worker), seeds N tenants x
 * M users through SQL, then measures each full-stack figure with autocannon (in a child process)
 * side by side with its ceiling measured on the same machine, and writes bench/REPORT.md.
 *
 *   npm run bench                                  # 20 tenants x 50 users, 3 runs of 10 s each
 *   BENCH_TENANTS=200 BENCH_USERS=200 npm run bench
 *   node --import tsx bench/run.ts --tenants=200 --users=200 --duration=10 --runs=3
 *
 * This file is the runner; each measurement is a suite in bench/suites/, the machinery they share
 * is in bench/lib/. See bench/README.md for what each measurement means.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../apps/server/src/kernel/config.ts';
import { createLogger } from '../apps/server/src/kernel/log.ts';
import { startPlatform } from '../apps/server/src/start.ts';
import { atCleanup, cleanup } from './lib/cleanup.ts';
import { prepareCustomerReads } from './lib/customer-reads.ts';
import { adminQuery, databaseUrl } from './lib/database.ts';
import { listen } from './lib/http.ts';
import { instrument } from './lib/instrument.ts';
import { LoadGenerator } from './lib/load-generator.ts';
import { countBackendsOf, sourceVersion } from './lib/machine.ts';
import { parseOptions } from './lib/options.ts';
import { progress } from './lib/progress.ts';
import { writeReport, type Ran } from './lib/report.ts';
import { seed } from './lib/seed.ts';
import type { BenchSuite, SuiteContext } from './lib/suite.ts';
import { auditSuite } from './suites/audit.ts';
import { billingSuite } from './suites/billing.ts';
import { flagSuite } from './suites/flags.ts';
import { loginSuite } from './suites/login.ts';
import { mfaLoginSuite } from './suites/mfa-login.ts';
import { oracleSuite } from './suites/oracles.ts';
import { rateLimitSuite } from './suites/rate-limits.ts';
import { readSuite } from './suites/read.ts';
import { refreshSuite } from './suites/refresh.ts';
import { rlsSuite } from './suites/rls.ts';
import { tokenSuite } from './suites/tokens.ts';

/**
 * In the order they run and the report lists them. (k) follows every suite that signs in with a
 * password: it enrols authenticators for the users of (a).
 */
const SUITES: BenchSuite[] = [loginSuite, tokenSuite, readSuite, rlsSuite, rateLimitSuite, auditSuite, billingSuite, flagSuite, refreshSuite, mfaLoginSuite, oracleSuite];

/** A rate limit the load generator's one address and few thousand users never reach. */
const NEVER_REFUSED = '1000000000';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  const options = parseOptions();
  const unknown = options.only.filter((key) => !SUITES.some((s) => s.keys.includes(key)));
  if (unknown.length) throw new Error(`BENCH_ONLY (--only): unknown key(s) ${unknown.join(', ')}; the keys are ${SUITES.flatMap((s) => s.keys).join(', ')}`);
  const selected = options.only.length ? SUITES.filter((s) => s.keys.some((key) => options.only.includes(key))) : SUITES;
  const scale = `${options.tenants.toLocaleString('en-US')} tenants x ${options.users.toLocaleString('en-US')} users`;
  // Others work in the same tree: the code measured is the code loaded now.
  const sourceAtStart = sourceVersion();
  progress(`scale ${scale}; ${options.runs} runs of ${options.seconds} s per measurement`);

  // A database of our own on the server, dropped at the end.
  const dbName = `tsv_bench_${randomBytes(6).toString('hex')}`;
  countBackendsOf(dbName);
  await adminQuery(options.serverUrl, `create database ${dbName}`);
  atCleanup('drop database', () => adminQuery(options.serverUrl, `drop database if exists ${dbName} with (force)`));
  const benchUrl = databaseUrl(options.serverUrl, dbName);
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tsv-bench-'));
  atCleanup('data directory', () => fsp.rm(dataDir, { recursive: true, force: true }));

  const config: Config = loadConfig({
    ...process.env,
    ENVIRONMENT: 'development',
    DATABASE_URL: benchUrl,
    MIGRATION_DATABASE_URL: benchUrl,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1',
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    // Tokens are issued once, before the measurements: they must outlive a long run.
    ACCESS_TOKEN_TTL_SECONDS: process.env.ACCESS_TOKEN_TTL_SECONDS || '3600',
    // DESIGN's read target is measured with audit-on-read off; it adds one transaction per read.
    AUDIT_ON_READ: process.env.AUDIT_ON_READ || 'false',
    // Rate limits stay on, so every full-stack row pays for them, but never refuse the load
    // generator (one address, every request of a user within seconds); (f) measures their cost.
    RATE_LIMIT_USER_PER_MINUTE: process.env.RATE_LIMIT_USER_PER_MINUTE || NEVER_REFUSED,
    RATE_LIMIT_TENANT_PER_MINUTE: process.env.RATE_LIMIT_TENANT_PER_MINUTE || NEVER_REFUSED,
    RATE_LIMIT_IP_PER_MINUTE: process.env.RATE_LIMIT_IP_PER_MINUTE || NEVER_REFUSED,
    RATE_LIMIT_LOGIN_PER_MINUTE: process.env.RATE_LIMIT_LOGIN_PER_MINUTE || NEVER_REFUSED,
    RATE_LIMIT_APP_PER_MINUTE: process.env.RATE_LIMIT_APP_PER_MINUTE || NEVER_REFUSED,
  });
  const log = createLogger(config.logLevel);

  const t0 = performance.now();
  const running = await startPlatform(config, log, { api: true, worker: true });
  atCleanup('platform', () => running.stop());
  const appUrl = await listen(running.app!);
  const startSeconds = (performance.now() - t0) / 1000;
  progress(`platform (api + worker) listening at ${appUrl} after ${startSeconds.toFixed(2)} s (migrations included)`);

  const seeded = await seed(running, options);
  const seedSeconds = seeded.timings.reduce((sum, t) => sum + t.seconds, 0);
  instrument(running);
  const customerReads = await prepareCustomerReads(benchUrl, config, options, seeded);
  const load = await LoadGenerator.start();
  atCleanup('load generator', () => load.close());

  const context: SuiteContext = { options, config, log, running, seeded, appUrl, load, databaseName: dbName, customerReads };
  const ran: Ran[] = [];
  for (const suite of selected) ran.push({ suite, outcome: await suite.run(context) });

  if (options.only.length) {
    progress(`--only ${options.only.join(',')}: no report written`);
    return;
  }
  await writeReport({ options, config, running, seeded, seedSeconds, startSeconds, scale, sourceAtStart, script: fileURLToPath(import.meta.url), ran });
}

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  progress('cleaning up');
  await cleanup();
  progress('done');
}
