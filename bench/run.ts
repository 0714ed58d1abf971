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
 * See bench/README.md for what each measurement means.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AutocannonRequest } from 'autocannon';
import { verify as argon2Verify } from '@node-rs/argon2';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import { importJWK, jwtVerify } from 'jose';
import { generate as totpCode } from 'otplib';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import pg from 'pg';
import { SessionCache } from '../apps/server/src/kernel/auth/session-cache.ts';
import { recordAudit } from '../apps/server/src/kernel/audit/audit.ts';
import { loadConfig, type Config } from '../apps/server/src/kernel/config.ts';
import type { RequestContext } from '../apps/server/src/kernel/context.ts';
import type { Database } from '../apps/server/src/kernel/db/database.ts';
import type { DB } from '../apps/server/src/kernel/db/schema.ts';
import { closeRedis, connectRedis } from '../apps/server/src/kernel/http/rate-limit.ts';
import { createHttpServer } from '../apps/server/src/kernel/http/server.ts';
import { createLogger } from '../apps/server/src/kernel/log.ts';
import { findCustomerById } from '../apps/server/src/modules/customers/customers.queries.ts';
import { startPlatform, type Running } from '../apps/server/src/start.ts';
import type { LoadJob, LoadOutcome } from './load.ts';
import { medianBy, percentile } from './stats.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const SERVER_DIR = path.join(ROOT, 'apps/server');
const PASSWORD = 'Bench-Passw0rd-2026!';
/** Events per transaction in the batch variant of (g), as the audit ingest API appends a batch. */
const AUDIT_BATCH = 100;
/** A rate limit the load generator's one address and few thousand users never reach. */
const NEVER_REFUSED = '1000000000';
/** (h) Billing ingest: events per batch (the API's maximum), batches in flight, tenants per batch in the spread variant. */
const BILLING_BATCH = 1000;
const BILLING_CONNECTIONS = 4;
const BILLING_SPREAD = 20;

// Options -------------------------------------------------------------------------------------

interface Options {
  tenants: number;
  users: number;
  customers: number;
  sessions: number;
  logins: number;
  seconds: number;
  warmup: number;
  runs: number;
  connections: number;
  loginConnections: number;
  serverUrl: string;
  /** Seconds per slice: the variants of a suite take turns in slices of this length. */
  slice: number;
  /** Variant keys to run (profiling); empty runs everything and writes the report. */
  only: string[];
  /** Wait before a measurement while other processes use more than this many cores... */
  quietCores: number;
  /** ...for at most this many seconds. */
  quietWait: number;
}

function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) return args[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

/** A whole number from argv (--name=N) or the environment (BENCH_NAME), else the default. */
function intOption(name: string, env: string, fallback: number, min: number): number {
  const raw = argValue(name) ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${env} (--${name}) must be a whole number >= ${min}, got "${raw}"`);
  return Number(raw);
}

function parseOptions(): Options {
  const tenants = intOption('tenants', 'BENCH_TENANTS', 20, 1);
  const users = intOption('users', 'BENCH_USERS', 50, 1);
  const total = tenants * users;
  return {
    tenants,
    users,
    customers: intOption('customers', 'BENCH_CUSTOMERS', 5, 1),
    sessions: Math.min(total, intOption('sessions', 'BENCH_SESSIONS', Math.min(total, 2_000), 1)),
    logins: Math.min(total, intOption('logins', 'BENCH_LOGINS', Math.min(total, 2_000), 1)),
    seconds: intOption('duration', 'BENCH_DURATION', 10, 1),
    warmup: intOption('warmup', 'BENCH_WARMUP', 2, 0),
    runs: intOption('runs', 'BENCH_RUNS', 3, 1),
    slice: intOption('slice', 'BENCH_SLICE', 2, 1),
    connections: intOption('connections', 'BENCH_CONNECTIONS', 32, 1),
    loginConnections: intOption('login-connections', 'BENCH_LOGIN_CONNECTIONS', 16, 1),
    serverUrl: argValue('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    only: (argValue('only') ?? process.env.BENCH_ONLY ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    quietCores: Number(argValue('quiet-cores') ?? process.env.BENCH_QUIET_CORES ?? '0.3'),
    quietWait: intOption('quiet-wait', 'BENCH_QUIET_WAIT', 120, 0),
  };
}

// Progress and cleanup ------------------------------------------------------------------------

const began = performance.now();
function progress(message: string) {
  process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`[bench] cleanup "${step.name}" failed: ${String(error)}\n`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// Machine figures -----------------------------------------------------------------------------

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time of the whole machine (all cores), in seconds, from /proc/stat: time spent in processes
 * (user, nice, system), in interrupt handlers (irq, softirq: loopback networking mostly), and time
 * the hypervisor gave to other guests while this one wanted to run (steal).
 */
function machineSeconds(): { processes: number; interrupts: number; steal: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return {
      processes: ((user ?? 0) + (nice ?? 0) + (system ?? 0)) / CLOCK_TICKS,
      interrupts: ((irq ?? 0) + (softirq ?? 0)) / CLOCK_TICKS,
      steal: (steal ?? 0) / CLOCK_TICKS,
    };
  } catch {
    return { processes: Number.NaN, interrupts: Number.NaN, steal: Number.NaN };
  }
}

/** The benchmark database's name, once created: its backends count as PostgreSQL work for us. */
let benchDatabase = '';
/** The server's own processes, shared by every database (counted as ours). */
const POSTGRES_AUXILIARY = /: (checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|stats collector|archiver)\b/;

/**
 * CPU ticks, by pid, of the PostgreSQL processes working for this benchmark, from /proc: the
 * backends (and autovacuum workers) of the benchmark database and the server's auxiliary
 * processes. Backends of other databases (other people's tests) are not counted.
 */
function postgresTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid));
  } catch {
    return ticks;
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const ours = (benchDatabase !== '' && new RegExp(`\\b${benchDatabase}\\b`).test(title)) || POSTGRES_AUXILIARY.test(title) || !title.includes(':');
      if (!ours) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/** CPU seconds the processes of `after` used since `before` (a process that ended in between is lost). */
function postgresSecondsBetween(before: Map<string, number>, after: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, value] of after) ticks += value - (before.get(pid) ?? 0);
  return ticks / CLOCK_TICKS;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The machine is shared: waits (up to options.quietWait s) until processes other than this one
 * and PostgreSQL use less than options.quietCores cores over one second. Returns that figure.
 */
async function waitForQuiet(options: Options): Promise<number> {
  const deadline = performance.now() + options.quietWait * 1000;
  let warned = false;
  for (;;) {
    const busy0 = machineSeconds().processes;
    const pg0 = postgresTicks();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(1000);
    const wall = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const others = (machineSeconds().processes - busy0 - postgresSecondsBetween(pg0, postgresTicks()) - (self.user + self.system) / 1e6) / wall;
    if (!(others > options.quietCores) || performance.now() > deadline) {
      if (warned) progress(`other processes now use ${fmt(others, 2)} cores; going on`);
      return others;
    }
    if (!warned) progress(`other processes use ${fmt(others, 2)} cores; waiting up to ${options.quietWait} s for a quiet machine`);
    warned = true;
  }
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The version of a dependency as the server resolves it (apps/server/node_modules, then the root). */
function versionOf(name: string): string {
  for (const base of [path.join(SERVER_DIR, 'node_modules'), path.join(ROOT, 'node_modules')]) {
    const file = path.join(base, name, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'not found';
}

/** The commit measured, and whether the server's sources differ from it (others work in the tree). */
function sourceVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const commit = git('log', '-1', '--format=%h %s');
    const changed = git('status', '--porcelain', '--', 'apps/server').split('\n').filter(Boolean).length;
    return `${commit}${changed ? ` (plus ${changed} uncommitted change(s) under apps/server)` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

// Measuring -----------------------------------------------------------------------------------

/** What one variant's run yields before the harness adds the machine figures. */
interface Core {
  ok: number;
  failed: number;
  seconds: number;
  /** Latencies (ms) of the successful operations, ascending. */
  latencies: Float64Array;
  /** CPU seconds used by the load generator process (HTTP runs). */
  loadCpuSeconds: number;
  statuses?: Record<string, number>;
}

/** Additive figures of one or more slices of a variant's run (see measure() and merge()). */
interface Tally extends Core {
  wall: number;
  /** CPU seconds: this process, PostgreSQL, interrupts, steal, all processes. */
  self: number;
  postgres: number;
  interrupts: number;
  steal: number;
  busy: number;
  eluActive: number;
  eluIdle: number;
  cacheHits: number;
  cacheMisses: number;
  transactions: number;
  /** Cores other processes used in the second before the run (see waitForQuiet). */
  background: number;
}

interface Sample {
  ok: number;
  failed: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  statuses?: Record<string, number>;
  /**
   * Cores used on average: this process (server or in-process driver), the load generator,
   * PostgreSQL (this database's backends), interrupt handlers, every other process, and CPU time
   * the hypervisor took away (steal).
   */
  cpu: { self: number; load: number; postgres: number; interrupts: number; other: number; steal: number };
  background: number;
  /** Event-loop utilisation of this process's main thread. */
  elu: number;
  /** Session checks answered from the cache, as a share of all checks (authenticated HTTP routes). */
  cacheHitRate: number | null;
  /** Transactions opened through withTenant/withPlatform per completed request. */
  txPerRequest: number | null;
}

interface Variant {
  key: string;
  label: string;
  http: boolean;
  /** Goes through the platform's guard (session-cache figures apply). */
  guarded?: boolean;
  run(seconds: number): Promise<Core>;
}

interface Result {
  variant: Variant;
  median: Sample;
  runs: Sample[];
}

/** Counters that the instrumented platform objects bump (see instrument()). */
const counters = { cacheHits: 0, cacheMisses: 0, transactions: 0 };

/** Runs op with `concurrency` loops for `seconds`, timing each call; a thrown error counts as failed. */
const postJson = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

interface Authenticator {
  email: string;
  slug: string;
  /** The code of the next unused time step in the server's window, or undefined when none is left. */
  code(): Promise<string>;
  available(): boolean;
  /** Signing in now: a second sign-in of the same user at once could send its steps out of order. */
  busy: boolean;
}

const TOTP_PERIOD = 30;
const nowStep = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD);

/** An authenticator app: the server accepts one step either side of now, and each step once. */
function authenticatorFor(account: { email: string; slug: string }, secret: string): Authenticator {
  let last = -Infinity;
  // The previous step is in the server's window too, but a step boundary in flight would push it out.
  const nextStep = () => Math.max(last + 1, nowStep());
  return {
    ...account,
    busy: false,
    available: () => nextStep() <= nowStep() + 1,
    async code() {
      last = nextStep();
      return totpCode({ secret, epoch: last * TOTP_PERIOD });
    },
  };
}

/** The next user with a time step left, rotating from i. */
function nextAuthenticator(accounts: Authenticator[], i: number): Authenticator {
  for (let k = 0; k < accounts.length; k++) {
    const account = accounts[(i + k) % accounts.length]!;
    if (!account.busy && account.available()) return account;
  }
  throw new Error('every authenticator used its time steps: more users needed');
}

/** Password, then the challenge answered with the authenticator's next code. */
async function signInWithSecondFactor(appUrl: string, account: Authenticator): Promise<void> {
  const challenged = await postJson(`${appUrl}/v1/auth/login`, { email: account.email, password: PASSWORD, tenant: account.slug, device: { id: deviceIdOf(account.email), os: 'bench' } });
  if (challenged.status !== 401) throw new Error(`login with MFA: ${challenged.status}`);
  const { challenge_token } = (await challenged.json()) as { challenge_token: string };
  const verified = await postJson(`${appUrl}/v1/auth/mfa/verify`, { challenge_token, totp_code: await account.code() });
  if (verified.status !== 200) throw new Error(`MFA verify: ${verified.status} ${await verified.text()}`);
  await verified.arrayBuffer();
}

/** Enrols an authenticator app for each account through the API (sign in, start, confirm). */
async function enrolAuthenticators(appUrl: string, accounts: { email: string; slug: string }[], concurrency: number): Promise<Authenticator[]> {
  const t0 = performance.now();
  const enrolled: Authenticator[] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < accounts.length; k = next++) {
      const account = accounts[k]!;
      const login = await postJson(`${appUrl}/v1/auth/login`, { email: account.email, password: PASSWORD, tenant: account.slug, device: { id: deviceIdOf(account.email), os: 'bench' } });
      if (login.status !== 200) throw new Error(`enrolment login: ${login.status} ${await login.text()}`);
      const authorization = `Bearer ${((await login.json()) as { access_token: string }).access_token}`;
      const headers = { 'content-type': 'application/json', authorization };
      const started = await fetch(`${appUrl}/v1/me/mfa/totp`, { method: 'POST', headers: { authorization } });
      if (started.status !== 200) throw new Error(`enrolment start: ${started.status} ${await started.text()}`);
      const { factor_id, secret } = (await started.json()) as { factor_id: string; secret: string };
      const authenticator = authenticatorFor(account, secret);
      const confirmed = await fetch(`${appUrl}/v1/me/mfa/totp/${factor_id}/confirm`, { method: 'POST', headers, body: JSON.stringify({ code: await authenticator.code() }) });
      if (confirmed.status !== 200) throw new Error(`enrolment confirm: ${confirmed.status} ${await confirmed.text()}`);
      enrolled.push(authenticator);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  progress(`(k) login with MFA: ${enrolled.length} authenticators enrolled in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  return enrolled;
}

/** A stable device id per bench user (a UUID shaped from the address), as a returning client sends. */
function deviceIdOf(email: string): string {
  const h = createHash('sha256').update(email).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function drive(concurrency: number, seconds: number, op: (i: number) => Promise<unknown>): Promise<Core> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= deadline) return;
      try {
        await op(next++);
        latencies.push(performance.now() - t0);
      } catch (error) {
        // The first failure of a measurement names its cause; the count goes in the report.
        if (failed++ === 0) progress(`first failure: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const sorted = Float64Array.from(latencies).sort();
  return { ok: sorted.length, failed, seconds: (performance.now() - started) / 1000, latencies: sorted, loadCpuSeconds: 0 };
}

/** Runs one slice of a variant and takes the machine's figures around it. */
async function measure(variant: Variant, seconds: number, background: number): Promise<Tally> {
  const machine0 = machineSeconds();
  const pg0 = postgresTicks();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  counters.cacheHits = counters.cacheMisses = counters.transactions = 0;
  const wall0 = performance.now();
  const core = await variant.run(seconds);
  const wall = (performance.now() - wall0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineSeconds();
  return {
    ...core,
    wall,
    self: (cpu.user + cpu.system) / 1e6,
    postgres: postgresSecondsBetween(pg0, postgresTicks()),
    interrupts: machine1.interrupts - machine0.interrupts,
    steal: machine1.steal - machine0.steal,
    busy: machine1.processes - machine0.processes,
    eluActive: elu.active,
    eluIdle: elu.idle,
    cacheHits: counters.cacheHits,
    cacheMisses: counters.cacheMisses,
    transactions: counters.transactions,
    background,
  };
}

/** Adds up the slices of one variant's run. */
function merge(tallies: Tally[]): Tally {
  const sum = (pick: (t: Tally) => number) => tallies.reduce((total, t) => total + pick(t), 0);
  const statuses: Record<string, number> = {};
  for (const t of tallies) for (const [code, n] of Object.entries(t.statuses ?? {})) statuses[code] = (statuses[code] ?? 0) + n;
  const latencies = new Float64Array(sum((t) => t.latencies.length));
  let offset = 0;
  for (const t of tallies) {
    latencies.set(t.latencies, offset);
    offset += t.latencies.length;
  }
  latencies.sort();
  return {
    ok: sum((t) => t.ok),
    failed: sum((t) => t.failed),
    seconds: sum((t) => t.seconds),
    latencies,
    loadCpuSeconds: sum((t) => t.loadCpuSeconds),
    statuses: tallies.some((t) => t.statuses) ? statuses : undefined,
    wall: sum((t) => t.wall),
    self: sum((t) => t.self),
    postgres: sum((t) => t.postgres),
    interrupts: sum((t) => t.interrupts),
    steal: sum((t) => t.steal),
    busy: sum((t) => t.busy),
    eluActive: sum((t) => t.eluActive),
    eluIdle: sum((t) => t.eluIdle),
    cacheHits: sum((t) => t.cacheHits),
    cacheMisses: sum((t) => t.cacheMisses),
    transactions: sum((t) => t.transactions),
    background: Math.max(...tallies.map((t) => t.background)),
  };
}

function summarise(variant: Variant, t: Tally): Sample {
  const checks = t.cacheHits + t.cacheMisses;
  return {
    ok: t.ok,
    failed: t.failed,
    seconds: t.seconds,
    rps: t.ok / t.seconds,
    p50: percentile(t.latencies, 0.5),
    p99: percentile(t.latencies, 0.99),
    mean: t.latencies.length ? t.latencies.reduce((a, b) => a + b, 0) / t.latencies.length : Number.NaN,
    statuses: t.statuses,
    cpu: {
      self: t.self / t.wall,
      load: t.loadCpuSeconds / t.wall,
      postgres: t.postgres / t.wall,
      interrupts: t.interrupts / t.wall,
      steal: t.steal / t.wall,
      other: Math.max(0, t.busy - t.self - t.loadCpuSeconds - t.postgres) / t.wall,
    },
    background: t.background,
    elu: t.eluActive / (t.eluActive + t.eluIdle),
    cacheHitRate: variant.guarded && checks > 0 ? t.cacheHits / checks : null,
    txPerRequest: variant.http ? t.transactions / Math.max(1, t.ok + t.failed) : null,
  };
}

const MAX_REPEATS = 3;
/** How many rounds of each suite were measured again because the machine was disturbed. */
const repeats = new Map<string, number>();
/** The slice length each suite used. */
const sliceOf = new Map<string, number>();

/** Disturbed: other processes or the hypervisor took more than options.quietCores cores. */
const disturbance = (sample: Sample) => sample.cpu.other + sample.cpu.steal;

/**
 * Warms every variant up once, then measures `runs` rounds. In a round the variants take turns in
 * slices of `slice` seconds until each has run `options.seconds`: every variant meets the machine in
 * the same moments, so the drift of a shared machine's speed (minutes apart, runs of one variant
 * differ by 1.5x or more here) cancels out of the ratios. A round during which other processes or
 * the hypervisor took more than options.quietCores cores is measured again, at most MAX_REPEATS
 * times. The median run (by req/s) of each variant is reported.
 */
async function suite(title: string, all: Variant[], options: Options, slice = options.slice): Promise<Result[]> {
  const variants = options.only.length ? all.filter((v) => options.only.includes(v.key)) : all;
  if (variants.length === 0) return [];
  const slices = Math.max(1, Math.round(options.seconds / Math.min(slice, options.seconds)));
  const sliceSeconds = options.seconds / slices;
  sliceOf.set(title, sliceSeconds);
  if (options.warmup > 0) {
    const background = await waitForQuiet(options);
    for (const variant of variants) {
      progress(`${title}: warm-up ${variant.label} (${options.warmup} s)`);
      await measure(variant, options.warmup, background);
    }
  }
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.key, []]));
  for (let run = 1; run <= options.runs; run++) {
    for (let attempt = 0; ; attempt++) {
      const background = await waitForQuiet(options);
      const tallies = new Map<string, Tally[]>(variants.map((v) => [v.key, []]));
      for (let k = 0; k < slices; k++) {
        for (const variant of variants) tallies.get(variant.key)!.push(await measure(variant, sliceSeconds, background));
      }
      const round = variants.map((variant) => summarise(variant, merge(tallies.get(variant.key)!)));
      round.forEach((sample, i) =>
        progress(
          `${title}: run ${run}/${options.runs}${attempt ? ` (again, ${attempt})` : ''} ${variants[i]!.label}: ${fmt(sample.rps, 0)} req/s, p50 ${fmt(sample.p50, 2)} ms, p99 ${fmt(sample.p99, 2)} ms` +
            (sample.failed ? `, ${sample.failed} failed` : '') +
            `; cores: self ${fmt(sample.cpu.self, 2)}, load ${fmt(sample.cpu.load, 2)}, postgres ${fmt(sample.cpu.postgres, 2)}, irq ${fmt(sample.cpu.interrupts, 2)}, other ${fmt(sample.cpu.other, 2)}, steal ${fmt(sample.cpu.steal, 2)}; loop ${pct(sample.elu)}` +
            (sample.cacheHitRate === null ? '' : `; cache hits ${pct(sample.cacheHitRate)}, tx/req ${fmt(sample.txPerRequest, 2)}`),
        ),
      );
      const worst = Math.max(...round.map(disturbance));
      if (worst <= options.quietCores || attempt >= MAX_REPEATS) {
        round.forEach((sample, i) => samples.get(variants[i]!.key)!.push(sample));
        break;
      }
      repeats.set(title, (repeats.get(title) ?? 0) + 1);
      progress(`${title}: run ${run}: other processes or the hypervisor took up to ${fmt(worst, 2)} cores; measuring the round again`);
    }
  }
  return variants.map((variant) => {
    const runs = samples.get(variant.key)!;
    return { variant, runs, median: medianBy(runs, (s) => s.rps) };
  });
}

// The load generator (child process) -----------------------------------------------------------

class LoadGenerator {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (outcome: LoadOutcome) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: LoadOutcome | { type: 'error'; id: number; message: string } | { type: 'ready' }) => {
      if (message.type === 'ready') return;
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.type === 'error') waiter?.reject(new Error(message.message));
      else waiter?.resolve(message);
    });
    child.on('exit', (code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`load generator exited (${code})`));
      this.#pending.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(path.join(BENCH_DIR, 'load.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    return new LoadGenerator(child);
  }

  run(url: string, connections: number, seconds: number, requests: AutocannonRequest[], okStatus?: number): Promise<Core> {
    const id = this.#next++;
    const job: LoadJob = { type: 'load', id, url, connections, seconds, requests, ...(okStatus ? { okStatus } : {}) };
    return new Promise<LoadOutcome>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send(job);
    }).then((outcome) => ({
      ok: outcome.ok,
      failed: Object.entries(outcome.statuses).reduce((sum, [code, n]) => (code.startsWith('2') || Number(code) === okStatus ? sum : sum + n), 0) + outcome.errors + outcome.timeouts,
      seconds: outcome.seconds,
      latencies: Float64Array.from(outcome.latencies),
      loadCpuSeconds: outcome.cpuSeconds,
      statuses: outcome.statuses,
    }));
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }
}

// Database setup and seeding -------------------------------------------------------------------

function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(server: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

interface Seeded {
  tenants: { id: string; slug: string }[];
  customers: { tenantId: string; customerId: string }[];
  sessions: { tenantId: string; userId: string; sessionId: string; token: string }[];
  logins: { email: string; slug: string }[];
  timings: { label: string; seconds: number }[];
  usersPerSecond: number;
}

/** The k-th chosen account: spread over every tenant first, then down each tenant's users. */
function accountAt(k: number, options: Options) {
  const tenant = (k % options.tenants) + 1;
  const user = (Math.floor(k / options.tenants) % options.users) + 1;
  return { tenant, user, email: `user${user}@bench-${tenant}.test`, slug: `bench-${tenant}` };
}

async function seed(running: Running, options: Options): Promise<Seeded> {
  const owner = running.platform.db.owner;
  const timings: Seeded['timings'] = [];
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await fn();
    timings.push({ label, seconds: (performance.now() - t0) / 1000 });
    progress(`seed: ${label} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return result;
  };

  const hash = await timed('hash one password (Argon2id)', () => running.platform.passwords.hash(PASSWORD));

  const tenants = await timed(`${options.tenants} tenants and audit chain heads`, async () => {
    const rows = await sql<{ id: string; slug: string }>`
      insert into tenants (name, slug, region)
      select 'Bench tenant ' || i, 'bench-' || i, 'US' from generate_series(1, ${options.tenants}::int) as i
      returning id, slug`.execute(owner);
    await sql`insert into audit_chain_heads (chain_id, tenant_id) select id, id from tenants where slug like 'bench-%'`.execute(owner);
    await sql`
      insert into roles (tenant_id, key, name)
      select t.id, r.key, r.name from tenants t
      cross join (values ('owner', 'Owner'), ('admin', 'Administrator'), ('member', 'Member'),
                         ('readonly', 'Read-only'), ('auditor', 'Auditor')) as r (key, name)
       where t.slug like 'bench-%'`.execute(owner);
    return rows.rows
      .map((row) => ({ ...row, index: Number(row.slug.slice('bench-'.length)) }))
      .sort((a, b) => a.index - b.index);
  });

  const userSeconds0 = performance.now();
  await timed(`${(options.tenants * options.users).toLocaleString('en-US')} users (${options.users} per tenant)`, async () => {
    const batch = Math.max(1, Math.floor(100_000 / options.users));
    for (let start = 0; start < tenants.length; start += batch) {
      const slice = tenants.slice(start, start + batch);
      await sql`
        insert into users (tenant_id, email, name, password_hash, email_verified_at)
        select t.id, 'user' || u || '@bench-' || t.i || '.test', 'Bench User ' || u, ${hash}, now()
          from unnest(${slice.map((t) => t.id)}::uuid[], ${slice.map((t) => t.index)}::int[]) as t(id, i),
               generate_series(1, ${options.users}::int) as u`.execute(owner);
      // The first user of each tenant is its Owner, the others Members, as tenant-wide assignments.
      await sql`
        insert into role_assignments (tenant_id, user_id, role_id)
        select u.tenant_id, u.id, r.id
          from users u
          join roles r on r.tenant_id = u.tenant_id
                      and r.key = case when u.email like 'user1@%' then 'owner' else 'member' end
         where u.tenant_id = any(${slice.map((t) => t.id)}::uuid[])`.execute(owner);
      if (tenants.length > batch) progress(`seed: users of ${Math.min(start + batch, tenants.length)}/${tenants.length} tenants`);
    }
  });
  const usersPerSecond = (options.tenants * options.users) / ((performance.now() - userSeconds0) / 1000);

  const customers = await timed(`${options.customers} customers per tenant, copied to customers_norls`, async () => {
    await sql`
      insert into customers (tenant_id, name, email)
      select t.id, 'Customer ' || c, 'customer' || c || '@example.com'
        from tenants t, generate_series(1, ${options.customers}::int) as c
       where t.slug like 'bench-%'`.execute(owner);
    // The RLS comparison's table: the same rows and indexes, no row-level security, owner only.
    await sql`create table customers_norls (like customers including all)`.execute(owner);
    await sql`insert into customers_norls select * from customers`.execute(owner);
    const rows = await sql<{ tenant_id: string; id: string }>`select tenant_id, id from customers`.execute(owner);
    return rows.rows.map((row) => ({ tenantId: row.tenant_id, customerId: row.id }));
  });

  const sessions = await timed(`${options.sessions} sessions with access tokens`, async () => {
    const chosen = Array.from({ length: options.sessions }, (_, k) => accountAt(k, options));
    const bySlug = new Map(tenants.map((t) => [t.slug, t.id]));
    const users = await sql<{ id: string; tenant_id: string; role: string }>`
      select u.id, u.tenant_id, case when u.email like 'user1@%' then 'owner' else 'member' end as role
        from unnest(${chosen.map((c) => bySlug.get(c.slug)!)}::uuid[], ${chosen.map((c) => c.email)}::text[]) as w(tenant_id, email)
        join users u on u.tenant_id = w.tenant_id and u.email = w.email`.execute(owner);
    const roleOf = new Map(users.rows.map((u) => [u.id, u.role]));
    const created = await sql<{ id: string; tenant_id: string; user_id: string }>`
      insert into sessions (tenant_id, user_id, expires_at, ip, user_agent)
      select w.tenant_id, w.user_id, now() + interval '12 hours', '127.0.0.1', 'tsv-bench'
        from unnest(${users.rows.map((u) => u.tenant_id)}::uuid[], ${users.rows.map((u) => u.id)}::uuid[]) as w(tenant_id, user_id)
      returning id, tenant_id, user_id`.execute(owner);
    const out: Seeded['sessions'] = [];
    for (const row of created.rows) {
      const { token } = await running.platform.tokens.issue({
        sub: row.user_id,
        tenant_id: row.tenant_id,
        roles: [roleOf.get(row.user_id)!],
        sid: row.id,
        amr: ['pwd'],
      });
      out.push({ tenantId: row.tenant_id, userId: row.user_id, sessionId: row.id, token });
    }
    return out;
  });

  await timed('analyze', () => sql`analyze tenants, users, roles, role_assignments, sessions, audit_chain_heads, customers, customers_norls`.execute(owner));

  const logins = Array.from({ length: options.logins }, (_, k) => accountAt(k + options.sessions, options)).map(({ email, slug }) => ({ email, slug }));
  return { tenants, customers, sessions, logins, timings, usersPerSecond };
}

// Platform instrumentation ---------------------------------------------------------------------

/**
 * Counts session-cache hits and misses and the transactions opened per request. It wraps the
 * methods of the running platform's own objects (the guard and the services call them through the
 * same references); nothing in src changes. The wrappers cost a function call each.
 */
function instrument(running: Running) {
  const { sessions, db } = running.platform;
  const get = sessions.get.bind(sessions);
  sessions.get = (sessionId: string, now?: number) => {
    const active = get(sessionId, now);
    if (active) counters.cacheHits++;
    else counters.cacheMisses++;
    return active;
  };
  const withTenant = db.withTenant.bind(db);
  const withPlatform = db.withPlatform.bind(db);
  const mutable = db as { -readonly [K in keyof Database]: Database[K] };
  mutable.withTenant = (tenantId, fn) => {
    counters.transactions++;
    return withTenant(tenantId, fn);
  };
  mutable.withPlatform = (fn) => {
    counters.transactions++;
    return withPlatform(fn);
  };
}

/** The exact SQL the customers module sends for a point read, captured from Kysely without a database. */
async function customerReadSql(): Promise<string> {
  let captured = '';
  const capture = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    log: (event) => {
      captured = event.query.sql;
    },
  });
  await findCustomerById(capture, '00000000-0000-0000-0000-000000000000');
  await capture.destroy();
  if (!/from "customers" where "id" = \$1$/.test(captured)) throw new Error(`unexpected customer query: ${captured}`);
  return captured;
}

// Report ---------------------------------------------------------------------------------------

function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? 'n/a' : `${fmt(value * 100, 1)}%`);

interface Figures {
  date: string;
  /** The commit measured (short hash). */
  commit: string;
  scale: string;
  tenants: number;
  users: number;
  seedSeconds: number;
  loginRps: number;
  argon2Rps: number;
  meRps: number;
  kernelRps: number;
  ceilingRps: number;
  readRps: number;
  readP99: number;
  rawReadRps: number;
  rawReadP99: number;
  /** Medians of the paired per-run ratios (see paired()). */
  loginRatio: number;
  kernelRatio: number;
  meRatio: number;
  readRatio: number;
  rlsOverhead: number;
}

function resultTable(title: string, results: Result[]): string {
  const lines = [
    '| variant | req/s (median run) | p50 ms | p99 ms | failed | req/s of each run | CPU cores: this process / load generator / PostgreSQL / interrupts / other processes / stolen by the hypervisor | event loop busy | session cache hits | tx per request |',
    '|---|---:|---:|---:|---:|---|---|---:|---:|---:|',
  ];
  for (const { variant, median, runs } of results) {
    lines.push(
      `| ${variant.label} | ${fmt(median.rps)} | ${fmt(median.p50, 2)} | ${fmt(median.p99, 2)} | ${median.failed} | ${runs.map((r) => fmt(r.rps)).join(', ')} | ` +
        `${fmt(median.cpu.self, 2)} / ${fmt(median.cpu.load, 2)} / ${fmt(median.cpu.postgres, 2)} / ${fmt(median.cpu.interrupts, 2)} / ${fmt(median.cpu.other, 2)} / ${fmt(median.cpu.steal, 2)} | ${pct(median.elu)} | ` +
        `${median.cacheHitRate === null ? '-' : pct(median.cacheHitRate)} | ${median.txPerRequest === null ? '-' : fmt(median.txPerRequest, 2)} |`,
    );
  }
  const repeated = repeats.get(title) ?? 0;
  lines.push('', repeated ? `${repeated} disturbed run(s) were measured again (at most ${MAX_REPEATS} times per run).` : 'No run had to be measured again.');
  return lines.join('\n');
}

/**
 * Ratios of two variants run by run: the i-th runs of both were measured one right after the other,
 * so their ratio is less exposed to the machine's speed drifting over minutes than the ratio of
 * the two median runs. Returns every run's ratio and their median.
 */
function paired(results: Result[], numerator: string, denominator: string, ratio = (a: number, b: number) => a / b) {
  const a = results.find((r) => r.variant.key === numerator)!.runs;
  const b = results.find((r) => r.variant.key === denominator)!.runs;
  const each = a.map((run, i) => ratio(run.rps, b[i]!.rps));
  return { each, median: medianBy(each, (x) => x) };
}

function byKey(results: Result[], key: string): Sample {
  const found = results.find((r) => r.variant.key === key);
  if (!found) throw new Error(`no result ${key}`);
  return found.median;
}

// Main -----------------------------------------------------------------------------------------

async function main() {
  const options = parseOptions();
  const scale = `${options.tenants.toLocaleString('en-US')} tenants x ${options.users.toLocaleString('en-US')} users`;
  // Others work in the same tree: the code measured is the code loaded now.
  const sourceAtStart = sourceVersion();
  progress(`scale ${scale}; ${options.runs} runs of ${options.seconds} s per measurement`);

  // A database of our own on the server, dropped at the end.
  const dbName = `tsv_bench_${randomBytes(6).toString('hex')}`;
  benchDatabase = dbName;
  await adminQuery(options.serverUrl, `create database ${dbName}`);
  cleanups.push({ name: 'drop database', run: () => adminQuery(options.serverUrl, `drop database if exists ${dbName} with (force)`) });
  const benchUrl = databaseUrl(options.serverUrl, dbName);
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tsv-bench-'));
  cleanups.push({ name: 'data directory', run: () => fsp.rm(dataDir, { recursive: true, force: true }) });

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
  cleanups.push({ name: 'platform', run: () => running.stop() });
  const app = running.app!;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const appUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const startSeconds = (performance.now() - t0) / 1000;
  progress(`platform (api + worker) listening at ${appUrl} after ${startSeconds.toFixed(2)} s (migrations included)`);

  const seeded = await seed(running, options);
  const seedSeconds = seeded.timings.reduce((sum, t) => sum + t.seconds, 0);
  instrument(running);

  // The bench-only cheap authenticated route: the platform's own HTTP kernel (hooks, guard with
  // token verification and session cache) with a handler that touches no database.
  const { tokens, sessions, db } = running.platform;
  const { app: kernel } = await createHttpServer(config, log, { db, tokens, sessions });
  kernel.get('/v1/bench/session', { config: { access: 'authenticated', requirements: ['FR-AUTH-013'] } }, async (request) => ({
    user_id: request.ctx.actor!.userId,
    tenant_id: request.ctx.actor!.tenantId,
  }));
  // The cost of authorization: the same kernel route behind a permission (grants from the session
  // cache), and on a second kernel with no session cache, where every request resolves the session
  // and its grants from the database (one transaction).
  const authorized = { config: { access: 'customers.read' as const, requirements: ['FR-RBAC-004'] } };
  kernel.get('/v1/bench/authorized', authorized, async (request) => ({ reach: request.ctx.reach === 'all' ? 'all' : [...request.ctx.reach] }));
  await kernel.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push({ name: 'kernel route server', run: () => kernel.close() });
  const kernelUrl = `http://127.0.0.1:${(kernel.server.address() as AddressInfo).port}`;

  // (f) The same kernel route with rate limits off, on in memory, and on in Redis when one answers
  // (REDIS_URL, else a local server). The tenant concurrency bound is off in all three.
  const limitKernel = async (name: string, enabled: boolean, redis: Redis | null) => {
    const limited: Config = {
      ...config,
      rateLimits: { ...config.rateLimits, enabled },
      tenantConcurrency: { ...config.tenantConcurrency, limit: 0 },
      redisKeyPrefix: `tsv-bench-${dbName}`,
    };
    const { app: server } = await createHttpServer(limited, log, { db, tokens, sessions, redis });
    server.get('/v1/bench/session', { config: { access: 'authenticated', requirements: ['FR-RATE-001'] } }, async (request) => ({
      user_id: request.ctx.actor!.userId,
      tenant_id: request.ctx.actor!.tenantId,
    }));
    await server.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push({ name: `kernel route server, ${name}`, run: () => server.close() });
    return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  };
  const limitsOffUrl = await limitKernel('rate limits off', false, null);
  const limitsMemoryUrl = await limitKernel('rate limits in memory', true, null);
  const benchRedisUrl = config.redisUrl ?? 'redis://127.0.0.1:6379';
  const benchRedis = await connectRedis(benchRedisUrl, log, 1_000);
  cleanups.push({ name: 'redis client', run: () => closeRedis(benchRedis) });
  const limitsRedisUrl = benchRedis.status === 'ready' ? await limitKernel('rate limits in Redis', true, benchRedis) : null;
  if (!limitsRedisUrl) progress(`(f) no Redis answers at ${benchRedisUrl.replace(/\/\/[^@/]*@/, '//***@')}: the Redis variant is left out`);
  const { app: uncached } = await createHttpServer(config, log, { db, tokens, sessions: new SessionCache(0) });
  uncached.get('/v1/bench/authorized', authorized, async (request) => ({ reach: request.ctx.reach === 'all' ? 'all' : [...request.ctx.reach] }));
  await uncached.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push({ name: 'uncached kernel server', run: () => uncached.close() });
  const uncachedUrl = `http://127.0.0.1:${(uncached.server.address() as AddressInfo).port}`;

  // The token-validation ceiling: bare Fastify (no hooks, no logger) and one EdDSA verify.
  const published = tokens.jwks().keys[0]!;
  const publicKey = await importJWK(published, 'EdDSA');
  const verifyOptions = { issuer: config.publicUrl, audience: config.jwtAudience, algorithms: ['EdDSA'], typ: 'at+jwt' };
  const bare = Fastify({ logger: false });
  bare.get('/ping', async (request, reply) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return reply.code(401).send();
    try {
      const { payload } = await jwtVerify(header.slice(7), publicKey, verifyOptions);
      return { sub: payload.sub };
    } catch {
      return reply.code(401).send();
    }
  });
  // The HTTP floor: the same bare Fastify answering without verifying anything.
  bare.get('/hello', async (request, reply) => {
    if (!request.headers.authorization?.startsWith('Bearer ')) return reply.code(401).send();
    return { sub: 'unverified' };
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push({ name: 'ceiling server', run: () => bare.close() });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;

  // The raw PostgreSQL driver: a pool of the app's size on the same database.
  const raw = new pg.Pool({ connectionString: benchUrl, max: config.databasePoolSize });
  raw.on('error', () => undefined);
  cleanups.push({ name: 'raw pool', run: () => raw.end() });

  const load = await LoadGenerator.start();
  cleanups.push({ name: 'load generator', run: () => load.close() });

  // Requests and work lists, each rotating over many tenants, users and tokens.
  const customersOf = new Map<string, string[]>();
  for (const c of seeded.customers) customersOf.set(c.tenantId, [...(customersOf.get(c.tenantId) ?? []), c.customerId]);
  const pick = <T>(items: T[], i: number) => items[i % items.length]!;
  const reads = seeded.sessions.map((s, i) => ({ ...s, customerId: pick(customersOf.get(s.tenantId)!, Math.floor(i / options.tenants)) }));
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const loginRequests: AutocannonRequest[] = seeded.logins.map((u) => ({
    method: 'POST',
    path: '/v1/auth/login',
    headers: { 'content-type': 'application/json' },
    // Real clients send the device id their first login returned: each user signs in from one device.
    body: JSON.stringify({ email: u.email, password: PASSWORD, tenant: u.slug, device: { id: deviceIdOf(u.email), os: 'bench' } }),
  }));
  const meRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/v1/me', headers: bearer(s.token) }));
  const kernelRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/v1/bench/session', headers: bearer(s.token) }));
  const authorizedRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/v1/bench/authorized', headers: bearer(s.token) }));
  const pingRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/ping', headers: bearer(s.token) }));
  const helloRequests: AutocannonRequest[] = seeded.sessions.map((s) => ({ method: 'GET', path: '/hello', headers: bearer(s.token) }));
  const readRequests: AutocannonRequest[] = reads.map((r) => ({
    method: 'GET',
    path: `/v1/tenants/${r.tenantId}/customers/${r.customerId}`,
    headers: bearer(r.token),
  }));

  const readSql = await customerReadSql();
  const norlsSql = readSql.replace(/from "customers" where "id" = \$1$/, 'from "customers_norls" where "tenant_id" = $1 and "id" = $2');
  const opening = (tenantId: string, role: boolean) =>
    [
      'begin',
      ...(role ? ['set local role tsv_app'] : []),
      `set local statement_timeout = ${Math.trunc(config.queryTimeoutMs)}`,
      `select set_config('app.tenant_id', '${tenantId}', true), set_config('app.unit_ids', '*', true)`,
    ].join('; ');
  /** BEGIN (+ SET LOCAL ROLE tsv_app) + set_config; SELECT; COMMIT: three round trips, like withTenant. */
  const transactionRead = async (text: string, values: string[], tenantId: string, role: boolean) => {
    const client = await raw.connect();
    try {
      await client.query(opening(tenantId, role));
      const result = await client.query(text, values);
      await client.query('commit');
      if (result.rowCount !== 1) throw new Error('customer not found');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  const rlsRead = (i: number) => {
    const r = pick(reads, i);
    return transactionRead(readSql, [r.customerId], r.tenantId, true);
  };
  const norlsRead = (i: number) => {
    const r = pick(reads, i);
    return transactionRead(norlsSql, [r.tenantId, r.customerId], r.tenantId, false);
  };
  const bareRead = async (i: number) => {
    const r = pick(reads, i);
    const result = await raw.query(norlsSql, [r.tenantId, r.customerId]);
    if (result.rowCount !== 1) throw new Error('customer not found');
  };

  // Sanity checks: every path answers what it should before anything is timed.
  {
    const first = reads[0]!;
    const check = async (url: string, init: RequestInit, what: string) => {
      const response = await fetch(url, init);
      if (response.status !== 200) throw new Error(`${what}: ${response.status} ${await response.text()}`);
    };
    await check(`${appUrl}/v1/auth/login`, { method: 'POST', headers: loginRequests[0]!.headers!, body: loginRequests[0]!.body! }, 'login');
    await check(`${appUrl}/v1/me`, { headers: bearer(first.token) }, '/v1/me');
    await check(`${appUrl}/v1/tenants/${first.tenantId}/customers/${first.customerId}`, { headers: bearer(first.token) }, 'customer read');
    await check(`${kernelUrl}/v1/bench/session`, { headers: bearer(first.token) }, 'kernel route');
    await check(`${bareUrl}/ping`, { headers: bearer(first.token) }, 'ceiling route');
    await rlsRead(0);
    await norlsRead(0);
    await bareRead(0);
    const other = reads.find((r) => r.tenantId !== first.tenantId);
    if (other) {
      // RLS is really on: another tenant's customer is invisible in this tenant's transaction.
      const leaked = await transactionRead(readSql, [other.customerId], first.tenantId, true).then(
        () => true,
        () => false,
      );
      if (leaked) throw new Error('RLS did not hide another tenant’s customer');
    }
    if (!(await argon2Verify(await running.platform.passwords.hash(PASSWORD), PASSWORD))) throw new Error('argon2 verify failed');
  }
  const storedHash = (
    await sql<{ password_hash: string }>`select password_hash from users where email = ${seeded.logins[0]!.email} limit 1`.execute(running.platform.db.owner)
  ).rows[0]!.password_hash;

  // Does TokenService.verify cache verified tokens? Time a fresh token's first check and its repeats.
  const tokenProbe = await (async () => {
    const probe = (await tokens.issue({ sub: reads[0]!.userId, tenant_id: reads[0]!.tenantId, roles: ['member'], sid: reads[0]!.sessionId, amr: ['pwd'] })).token;
    const t0 = performance.now();
    await tokens.verify(probe);
    const freshUs = (performance.now() - t0) * 1000;
    const t1 = performance.now();
    for (let i = 0; i < 200; i++) await tokens.verify(probe);
    return { freshUs, repeatUs: ((performance.now() - t1) * 1000) / 200 };
  })();

  // (a) Password login vs the raw Argon2id verify rate -------------------------------------------
  const login = await suite(
    '(a) login',
    [
      { key: 'login', label: 'POST /v1/auth/login (full stack)', http: true, run: (s) => load.run(appUrl, options.loginConnections, s, loginRequests) },
      {
        key: 'argon2',
        label: 'raw Argon2id verify, @node-rs/argon2 in-process (ceiling)',
        http: false,
        run: (s) =>
          drive(options.loginConnections, s, async () => {
            if (!(await argon2Verify(storedHash, PASSWORD))) throw new Error('mismatch');
          }),
      },
    ],
    options,
    // Logins take a few hundred ms: a short slice would drop a large share of them in flight at
    // its end, so the two variants run whole, one after the other.
    options.seconds,
  );

  // (b) Token validation ---------------------------------------------------------------------------
  const tokenList = seeded.sessions.map((s) => s.token);
  const token = await suite(
    '(b) tokens',
    [
      { key: 'me', label: 'GET /v1/me (full stack)', http: true, guarded: true, run: (s) => load.run(appUrl, options.connections, s, meRequests) },
      {
        key: 'kernel',
        label: 'GET /v1/bench/session (platform HTTP kernel + guard, no handler query; bench-only route)',
        http: true,
        guarded: true,
        run: (s) => load.run(kernelUrl, options.connections, s, kernelRequests),
      },
      {
        key: 'authz',
        label: 'GET /v1/bench/authorized (kernel + guard + permission check, grants cached with the session)',
        http: true,
        guarded: true,
        run: (s) => load.run(kernelUrl, options.connections, s, authorizedRequests),
      },
      {
        key: 'authz-nocache',
        label: 'the same with no session cache: session and grants resolved in one transaction per request',
        http: true,
        guarded: true,
        run: (s) => load.run(uncachedUrl, options.connections, s, authorizedRequests),
      },
      { key: 'ceiling', label: 'bare Fastify + jose EdDSA verify (ceiling)', http: true, run: (s) => load.run(bareUrl, options.connections, s, pingRequests) },
      { key: 'fastify', label: 'bare Fastify, no verify (HTTP floor; reference)', http: true, run: (s) => load.run(bareUrl, options.connections, s, helloRequests) },
      {
        key: 'verify',
        label: 'jose jwtVerify (EdDSA) in-process, no HTTP, no cache (reference)',
        http: false,
        run: (s) => drive(options.connections, s, (i) => jwtVerify(pick(tokenList, i), publicKey, verifyOptions)),
      },
    ],
    options,
  );

  // (c) Tenant-scoped read vs the raw transaction ----------------------------------------------
  const read = await suite(
    '(c) read',
    [
      {
        key: 'read',
        label: 'GET /v1/tenants/{tenantId}/customers/{id} (full stack)',
        http: true,
        guarded: true,
        run: (s) => load.run(appUrl, options.connections, s, readRequests),
      },
      {
        key: 'raw',
        label: `raw pg: BEGIN+SET LOCAL ROLE+set_config; SELECT; COMMIT (pool ${config.databasePoolSize}, ceiling)`,
        http: false,
        run: (s) => drive(options.connections, s, rlsRead),
      },
    ],
    options,
  );

  // (d) RLS overhead -----------------------------------------------------------------------------
  const rls = await suite(
    '(d) rls',
    [
      { key: 'rls', label: 'customers, tenant transaction as tsv_app (RLS applies)', http: false, run: (s) => drive(options.connections, s, rlsRead) },
      {
        key: 'norls',
        label: 'customers_norls (no RLS), same transaction as owner, explicit where tenant_id = $1',
        http: false,
        run: (s) => drive(options.connections, s, norlsRead),
      },
      {
        key: 'bare',
        label: 'customers_norls, the SELECT alone (one round trip, no transaction; reference)',
        http: false,
        run: (s) => drive(options.connections, s, bareRead),
      },
    ],
    options,
  );

  // (f) Rate-limit overhead ---------------------------------------------------------------------
  const limitVariants: Variant[] = [
    {
      key: 'limits-off',
      label: 'GET /v1/bench/session, rate limits off',
      http: true,
      guarded: true,
      run: (s) => load.run(limitsOffUrl, options.connections, s, kernelRequests),
    },
    {
      key: 'limits-memory',
      label: 'the same, rate limits on: user and tenant buckets in memory',
      http: true,
      guarded: true,
      run: (s) => load.run(limitsMemoryUrl, options.connections, s, kernelRequests),
    },
  ];
  if (limitsRedisUrl) {
    limitVariants.push({
      key: 'limits-redis',
      label: 'the same, rate limits on: user and tenant buckets in Redis (two round trips)',
      http: true,
      guarded: true,
      run: (s) => load.run(limitsRedisUrl, options.connections, s, kernelRequests),
    });
  }
  const limits = await suite('(f) rate limits', limitVariants, options);

  // (g) Audit append -----------------------------------------------------------------------------
  // Events appended to the tenants' hash chains as the services do it (recordAudit in a tenant
  // transaction), many tenants in parallel; the rate column counts events.
  const auditContext = (): RequestContext => ({ correlationId: randomUUID(), ip: '127.0.0.1', userAgent: 'tsv-bench', actor: null, reach: 'all', log });
  const appendEvents = (tenantId: string, count: number, i: number) =>
    db.withTenant(tenantId, async (tx) => {
      const ctx = auditContext();
      for (let k = 0; k < count; k++) await recordAudit(tx, ctx, { tenantId, action: 'app.bench.appended', resourceType: 'bench', resourceId: `${i}.${k}` });
    });
  /** drive() with each call appending `count` events: ok counts events, latencies stay per call. */
  const driveAppends = async (seconds: number, count: number, tenantOf: (i: number) => string): Promise<Core> => {
    const core = await drive(options.connections, seconds, (i) => appendEvents(tenantOf(i), count, i));
    return { ...core, ok: core.ok * count, failed: core.failed * count };
  };
  const audit = await suite(
    '(g) audit',
    [
      {
        key: 'audit',
        label: `one event per tenant transaction, writers spread over ${seeded.tenants.length} tenants' chains`,
        http: false,
        run: (s) => driveAppends(s, 1, (i) => pick(seeded.tenants, i).id),
      },
      {
        key: 'audit-batch',
        label: `${AUDIT_BATCH} events per tenant transaction (an ingest batch), writers spread over the tenants`,
        http: false,
        run: (s) => driveAppends(s, AUDIT_BATCH, (i) => pick(seeded.tenants, i).id),
      },
      {
        key: 'audit-one',
        label: "one event per transaction, every writer on one tenant's chain (its head lock serialises them; reference)",
        http: false,
        run: (s) => driveAppends(s, 1, () => seeded.tenants[0]!.id),
      },
    ],
    options,
  );

  // (h) Billing ingest ---------------------------------------------------------------------------
  // POST /v1/apps/billing-events through the full stack with an application key; each batch holds
  // BILLING_BATCH new events, built in this process just before it is sent. The rate column counts events.
  const system: RequestContext = {
    correlationId: randomUUID(),
    ip: null,
    userAgent: 'tsv-bench',
    actor: { type: 'system', userId: 'bench', tenantId: null, roles: [], sessionId: 'bench', amr: [], grants: new Map() },
    reach: 'all',
    log,
  };
  const { key: billingKey } = await running.services.apps.registerWithKey(
    system,
    { name: 'Bench metering', environment: 'production', owner: 'bench@example.com' },
    { scopes: ['billing:write'] },
  );
  const spread = Math.min(BILLING_SPREAD, seeded.tenants.length);
  /** The i-th batch: new idempotency ids, over `tenantsPerBatch` tenants taken in turn. */
  const billingBatch = (tenantsPerBatch: number, i: number) => {
    const occurredAt = new Date().toISOString();
    const events = Array.from({ length: BILLING_BATCH }, (_, k) => ({
      idempotency_id: randomUUID(),
      tenant_id: pick(seeded.tenants, i * tenantsPerBatch + (k % tenantsPerBatch)).id,
      type: k % 2 ? 'api.calls' : 'storage.gb_hours',
      quantity: (k % 7) + 0.5,
      occurred_at: occurredAt,
    }));
    return JSON.stringify({ events });
  };
  const postBatch = async (body: string, expect: 'accepted' | 'duplicates') => {
    const response = await fetch(`${appUrl}/v1/apps/billing-events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${billingKey.secret}`, 'content-type': 'application/json' },
      body,
    });
    const result = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200 || result[expect] !== BILLING_BATCH) throw new Error(`billing ingest answered ${response.status}`);
  };
  /** drive() with each call sending one batch: ok counts events, latencies stay per batch. */
  const driveBatches = async (seconds: number, send: (i: number) => Promise<void>): Promise<Core> => {
    const core = await drive(BILLING_CONNECTIONS, seconds, send);
    return { ...core, ok: core.ok * BILLING_BATCH, failed: core.failed * BILLING_BATCH };
  };
  const resent = billingBatch(1, 0);
  await postBatch(resent, 'accepted');
  const billing = await suite(
    '(h) billing',
    [
      {
        key: 'billing',
        label: `batches of ${BILLING_BATCH} new events, one tenant per batch (one transaction and audit event per batch)`,
        http: false,
        run: (s) => driveBatches(s, (i) => postBatch(billingBatch(1, i), 'accepted')),
      },
      {
        key: 'billing-spread',
        label: `batches of ${BILLING_BATCH} new events over ${spread} tenants (a transaction and an audit event per tenant)`,
        http: false,
        run: (s) => driveBatches(s, (i) => postBatch(billingBatch(spread, i), 'accepted')),
      },
      {
        key: 'billing-duplicates',
        label: `one batch of ${BILLING_BATCH} sent again and again: every event a duplicate (reference)`,
        http: false,
        run: (s) => driveBatches(s, () => postBatch(resent, 'duplicates')),
      },
    ],
    options,
  );

  // (i) Flag delivery ----------------------------------------------------------------------------
  // GET /v1/apps/flags with an application key (flags:read) over every tenant: the whole document,
  // as a client without a copy gets it, and the conditional request of a client whose copy is
  // current (If-None-Match: the ETag, answered 304 without a body). Both come from the node's
  // document cache; a change drops a tenant's document on every node (NOTIFY).
  const { key: flagsKey } = await running.services.apps.registerWithKey(
    system,
    { name: 'Bench flags', environment: 'production', owner: 'bench@example.com' },
    { scopes: ['flags:read'] },
  );
  for (const key of ['bench-alpha', 'bench-beta', 'bench-gamma']) await running.services.flags.createFlag(system, { key, kind: 'boolean', default_value: key !== 'bench-beta' });
  await running.services.flags.createFlag(system, { key: 'bench-variant', kind: 'variant', variants: ['a', 'b', 'c'], default_value: 'a', plan_defaults: { standard: 'b' } });
  // Documents differ between tenants: every other one (of the first 200) has an override.
  for (const [i, tenant] of seeded.tenants.slice(0, 200).entries()) {
    if (i % 2) await running.services.flags.setOverride(system, 'bench-variant', { tenant_id: tenant.id, value: 'c' });
  }
  const flagHeaders = { authorization: `Bearer ${flagsKey.secret}` };
  const flagEtags = new Map<string, string>();
  for (const tenant of seeded.tenants) {
    const response = await fetch(`${appUrl}/v1/apps/flags?tenant=${tenant.id}`, { headers: flagHeaders });
    if (response.status !== 200) throw new Error(`flag delivery: ${response.status} ${await response.text()}`);
    flagEtags.set(tenant.id, response.headers.get('etag')!);
    const again = await fetch(`${appUrl}/v1/apps/flags?tenant=${tenant.id}`, { headers: { ...flagHeaders, 'if-none-match': flagEtags.get(tenant.id)! } });
    if (again.status !== 304) throw new Error(`flag delivery with If-None-Match: ${again.status}`);
  }
  const flagPath = (tenantId: string) => `/v1/apps/flags?tenant=${tenantId}`;
  const documentRequests: AutocannonRequest[] = seeded.tenants.map((t) => ({ method: 'GET', path: flagPath(t.id), headers: flagHeaders }));
  const notModifiedRequests: AutocannonRequest[] = seeded.tenants.map((t) => ({
    method: 'GET',
    path: flagPath(t.id),
    headers: { ...flagHeaders, 'if-none-match': flagEtags.get(t.id)! },
  }));
  const delivery = await suite(
    '(i) flags',
    [
      {
        key: 'flags',
        label: 'GET /v1/apps/flags: the whole document with its ETag (a client without a copy)',
        http: true,
        run: (s) => load.run(appUrl, options.connections, s, documentRequests),
      },
      {
        key: 'flags-304',
        label: 'GET /v1/apps/flags with If-None-Match of the current ETag: 304, no body (a client whose copy is current)',
        http: true,
        run: (s) => load.run(appUrl, options.connections, s, notModifiedRequests, 304),
      },
    ],
    options,
  );

  // (j) Refresh token rotation ---------------------------------------------------------------------
  // Each refresh spends its token and returns the next one, so every connection carries its own chain.
  const refreshChains: string[] = [];
  for (const u of seeded.logins.slice(0, options.connections)) {
    const response = await fetch(`${appUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: u.email, password: PASSWORD, tenant: u.slug, device: { id: deviceIdOf(u.email), os: 'bench' } }),
    });
    if (response.status !== 200) throw new Error(`refresh setup login: ${response.status} ${await response.text()}`);
    refreshChains.push(((await response.json()) as { refresh_token: string }).refresh_token);
  }
  const refresh = await suite(
    '(j) refresh',
    [
      {
        key: 'refresh',
        label: 'POST /v1/auth/refresh (full stack; rotation, reuse check, audit event, new access token), driven by fetch in this process',
        http: false,
        run: (s) =>
          drive(refreshChains.length, s, async () => {
            const token = refreshChains.shift()!;
            const response = await fetch(`${appUrl}/v1/auth/refresh`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ refresh_token: token }),
            });
            if (response.status !== 200) throw new Error(`refresh: ${response.status}`);
            refreshChains.push(((await response.json()) as { refresh_token: string }).refresh_token);
          }),
      },
    ],
    options,
  );

  // (k) Login with a second factor ------------------------------------------------------------------
  // Runs last: enrolling an authenticator makes every later password login of these users a challenge.
  const mfaWanted = options.only.length === 0 || options.only.includes('login-mfa');
  const mfaLogins = mfaWanted ? await enrolAuthenticators(appUrl, seeded.logins, options.loginConnections) : [];
  const mfaOptions = { ...options, seconds: Math.min(options.seconds, 5), warmup: 0 };
  const mfa = await suite(
    '(k) login with MFA',
    [
      {
        key: 'login-mfa',
        label: 'POST /v1/auth/login (401 mfa-required) + POST /v1/auth/mfa/verify with a TOTP code, driven by fetch in this process',
        http: false,
        run: (s) =>
          drive(options.loginConnections, s, async (i) => {
            const account = nextAuthenticator(mfaLogins, i);
            account.busy = true;
            try {
              await signInWithSecondFactor(appUrl, account);
            } finally {
              account.busy = false;
            }
          }),
      },
    ],
    // Each user has two time steps at first, then one per 30 s: short runs stay within them.
    mfaOptions,
    mfaOptions.seconds,
  );

  const oracleSamples = Math.min(150, Math.floor((options.tenants * options.users) / 4));
  const oracles = options.only.length === 0 || options.only.includes('oracles') ? await measureOracles(appUrl, options, oracleSamples) : [];
  for (const pair of oracles) {
    const { gap, floor } = oracleGap(pair);
    progress(`(l) ${pair.title}: unknown - existing = ${fmt(gap, 2)} ms (floor ${fmt(floor, 2)} ms)`);
  }

  // Figures, results file and report ---------------------------------------------------------
  if (options.only.length) {
    progress(`--only ${options.only.join(',')}: no report written`);
    return;
  }
  const pgVersion = (await sql<{ v: string }>`select version() as v`.execute(running.platform.db.owner)).rows[0]!.v;
  const authenticatedRoutes = running.routes.filter((r) => r.access === 'authenticated').map((r) => `${r.method} ${r.url}`);
  const f: Figures = {
    date: new Date().toISOString(),
    commit: sourceAtStart.split(' ')[0]!,
    scale,
    tenants: options.tenants,
    users: options.users,
    seedSeconds,
    loginRps: byKey(login, 'login').rps,
    argon2Rps: byKey(login, 'argon2').rps,
    meRps: byKey(token, 'me').rps,
    kernelRps: byKey(token, 'kernel').rps,
    ceilingRps: byKey(token, 'ceiling').rps,
    readRps: byKey(read, 'read').rps,
    readP99: byKey(read, 'read').p99,
    rawReadRps: byKey(read, 'raw').rps,
    rawReadP99: byKey(read, 'raw').p99,
    loginRatio: paired(login, 'login', 'argon2').median,
    kernelRatio: paired(token, 'kernel', 'ceiling').median,
    meRatio: paired(token, 'me', 'ceiling').median,
    readRatio: paired(read, 'read', 'raw').median,
    rlsOverhead: paired(rls, 'norls', 'rls', (a, b) => a / b - 1).median,
  };

  const resultsDir = path.join(BENCH_DIR, 'results');
  await fsp.mkdir(resultsDir, { recursive: true });
  const stamp = f.date.replace(/[:.]/g, '-');
  const baseName = `${stamp}-${options.tenants}x${options.users}`;
  const envShown = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  if (process.env.DATABASE_URL) envShown.push(`DATABASE_URL=${process.env.DATABASE_URL.replace(/\/\/[^@/]*@/, '//***@')}`);
  const command = [...envShown, 'node', ...process.execArgv, path.relative(ROOT, fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ');

  const history: Figures[] = [];
  for (const name of (await fsp.readdir(resultsDir)).filter((n) => n.endsWith('.json')).sort()) {
    try {
      history.push((JSON.parse(await fsp.readFile(path.join(resultsDir, name), 'utf8')) as { figures: Figures }).figures);
    } catch {
      // not one of ours
    }
  }
  history.push(f);

  const report = renderReport({
    options,
    config,
    f,
    command,
    pgVersion,
    seeded,
    seedSeconds,
    startSeconds,
    login,
    token,
    read,
    rls,
    limits,
    audit,
    billing,
    delivery,
    refresh,
    mfa,
    oracles,
    history,
    source: (() => {
      const atEnd = sourceVersion();
      return atEnd === sourceAtStart ? sourceAtStart : `${sourceAtStart}, loaded at the start (the tree changed to ${atEnd} during the run)`;
    })(),
    authenticatedRoutes,
    tokenProbe,
  });
  const plain = (results: Result[]) => results.map(({ variant, median, runs }) => ({ key: variant.key, label: variant.label, median, runs }));
  const json = {
    figures: f,
    options: { ...options, serverUrl: undefined },
    command,
    results: { login: plain(login), token: plain(token), read: plain(read), rls: plain(rls), limits: plain(limits), audit: plain(audit), billing: plain(billing), delivery: plain(delivery), refresh: plain(refresh), mfa: plain(mfa) },
    oracles: oracles.map((pair) => ({ title: pair.title, ...oracleGap(pair), closed: oracleClosed(pair) })),
  };
  await fsp.writeFile(path.join(resultsDir, `${baseName}.json`), JSON.stringify(json, null, 2));
  await fsp.writeFile(path.join(resultsDir, `${baseName}.md`), report);
  await fsp.writeFile(path.join(BENCH_DIR, 'REPORT.md'), report);
  progress(`report written: bench/REPORT.md (and bench/results/${baseName}.md/.json)`);
  process.stdout.write(`\n${report}\n`);
}

// (l) Existence oracles ---------------------------------------------------------------------------

/** One request path of an oracle pair, timed one request at a time. */
interface OraclePath {
  label: string;
  latencies: number[];
}

interface OraclePair {
  title: string;
  /** The path an attacker compares against (an existing account). */
  known: OraclePath;
  /** The same path again, with other accounts: how far two samples of one path differ (the floor). */
  again: OraclePath;
  /** The path that must not stand out (no such account or organization). */
  unknown: OraclePath;
}

/** A nearest-rank quantile (0..1) of unsorted latencies. */
const quantile = (values: number[], p: number) => percentile(Float64Array.from(values).sort(), p);
const latencyP50 = (values: number[]) => quantile(values, 0.5);
/** The difference an attacker could read, against the floor of the same path measured twice. */
const oracleGap = (pair: OraclePair) => ({ gap: latencyP50(pair.unknown.latencies) - latencyP50(pair.known.latencies), floor: Math.abs(latencyP50(pair.again.latencies) - latencyP50(pair.known.latencies)) });
/** Indistinguishable: the gap is within twice the floor, or under a millisecond. */
const oracleClosed = (pair: OraclePair) => {
  const { gap, floor } = oracleGap(pair);
  return Math.abs(gap) <= Math.max(2 * floor, 1);
};

/**
 * Times, one request at a time and in shuffled order, a request about an existing account, the
 * same about other existing accounts, and the same about none: a wrong password against an unknown
 * organization at login, and a reset request for an existing against an unknown address. Every
 * account is asked once, so no lockout, slowdown or reset allowance takes part.
 */
async function measureOracles(appUrl: string, options: Options, samples: number): Promise<OraclePair[]> {
  const timed = async (path: OraclePath, request: () => Promise<Response>, expected: number) => {
    const t0 = performance.now();
    const response = await request();
    path.latencies.push(performance.now() - t0);
    if (response.status !== expected) throw new Error(`${path.label}: ${response.status} ${await response.text()}`);
  };
  const login = (email: string, tenant: string) => () => postJson(`${appUrl}/v1/auth/login`, { email, password: 'Not-The-Bench-Passw0rd!', tenant });
  const reset = (email: string, tenant: string) => () => postJson(`${appUrl}/v1/auth/password-reset`, { email, tenant });
  const pair = (title: string, labels: [string, string, string]): OraclePair => ({
    title,
    known: { label: labels[0], latencies: [] },
    again: { label: labels[1], latencies: [] },
    unknown: { label: labels[2], latencies: [] },
  });
  const signIn = pair('POST /v1/auth/login, wrong password (401)', ['existing account, wrong password', 'other existing accounts, wrong password', 'unknown organization']);
  const resets = pair('POST /v1/auth/password-reset (202)', ['existing account', 'other existing accounts', 'unknown address']);
  for (let i = 0; i < samples; i++) {
    // Accounts far from those (a) and (k) sign in with, three per sample, never one twice.
    const [a, b, c] = [0, 1, 2].map((n) => accountAt(options.tenants * options.users - 1 - (3 * i + n), options));
    const steps = [
      () => timed(signIn.known, login(a!.email, a!.slug), 401),
      () => timed(signIn.again, login(b!.email, b!.slug), 401),
      () => timed(signIn.unknown, login(c!.email, `no-such-organization-${i}`), 401),
      () => timed(resets.known, reset(a!.email, a!.slug), 202),
      () => timed(resets.again, reset(b!.email, b!.slug), 202),
      () => timed(resets.unknown, reset(`nobody-${i}@${c!.slug}.test`, c!.slug), 202),
    ].sort(() => Math.random() - 0.5);
    for (const step of steps) await step();
  }
  return [signIn, resets];
}

function renderReport(input: {
  options: Options;
  config: Config;
  f: Figures;
  command: string;
  pgVersion: string;
  seeded: Seeded;
  seedSeconds: number;
  startSeconds: number;
  login: Result[];
  token: Result[];
  read: Result[];
  rls: Result[];
  limits: Result[];
  audit: Result[];
  billing: Result[];
  delivery: Result[];
  refresh: Result[];
  mfa: Result[];
  oracles: OraclePair[];
  history: Figures[];
  source: string;
  authenticatedRoutes: string[];
  tokenProbe: { freshUs: number; repeatUs: number };
}): string {
  const { options, config, f, command, pgVersion, seeded, seedSeconds, startSeconds, login, token, read, rls, limits, audit, billing, delivery, refresh, mfa, oracles, history, source, authenticatedRoutes, tokenProbe } =
    input;
  const auditSpread = byKey(audit, 'audit');
  const auditBatch = byKey(audit, 'audit-batch');
  const auditOne = byKey(audit, 'audit-one');
  const billingOne = byKey(billing, 'billing');
  const billingSpread = byKey(billing, 'billing-spread');
  const billingDuplicates = byKey(billing, 'billing-duplicates');
  const { loginRatio, kernelRatio, meRatio, readRatio } = f;
  const ratioLine = (what: string, p: { each: number[]; median: number }, ofMedians: number) =>
    `${what} = **${pct(p.median)}** (median of the paired runs: ${p.each.map(pct).join(', ')}; ratio of the two median runs: ${pct(ofMedians)}).`;
  const readSample = byKey(read, 'read');
  const rawSample = byKey(read, 'raw');
  const meSample = byKey(token, 'me');
  const bareRps = byKey(rls, 'bare').rps;
  const rlsRps = byKey(rls, 'rls').rps;
  // Server CPU per request (this process's cores ÷ req/s): the limiter's cost is the difference.
  const cpuUs = (sample: Sample) => (sample.cpu.self / sample.rps) * 1e6;
  const limitsOff = byKey(limits, 'limits-off');
  const limitsMemory = byKey(limits, 'limits-memory');
  const limitsRedis = limits.find((r) => r.variant.key === 'limits-redis')?.median ?? null;
  const limitCostLine = (what: string, sample: Sample) =>
    `${what}: ${fmt(cpuUs(sample), 1)} µs of server CPU per request against ${fmt(cpuUs(limitsOff), 1)} µs with limits off (${fmt(cpuUs(sample) - cpuUs(limitsOff), 1)} µs more), ${fmt(sample.rps)} req/s against ${fmt(limitsOff.rps)} (p50 ${fmt(sample.p50, 2)} ms against ${fmt(limitsOff.p50, 2)} ms).`;
  const met = (ok: boolean) => (ok ? 'yes' : '**no**');
  const totalUsers = options.tenants * options.users;
  const estimate10M = 10_000_000 / seeded.usersPerSecond;
  const flat = history.filter((h) => Number.isFinite(h.readP99));
  const smallest = flat.reduce<Figures | null>((a, h) => (a === null || h.tenants * h.users < a.tenants * a.users ? h : a), null);

  const reading: string[] = [];
  reading.push(
    `Login ran at ${fmt(f.loginRps, 1)}/s, ${pct(loginRatio)} of the raw Argon2id verify rate of ${fmt(f.argon2Rps, 1)}/s measured in this process at the same concurrency (${options.loginConnections}); the target is >= 90%, ${loginRatio >= 0.9 ? 'met' : 'not met'}.`,
  );
  reading.push(
    `Token validation through the platform's HTTP kernel with no handler query ran at ${fmt(f.kernelRps)} req/s, ${pct(kernelRatio)} of bare Fastify + EdDSA verify (${fmt(f.ceilingRps)} req/s); the target is >= 4,000/s on this 2-core machine, ${f.kernelRps >= 4000 ? 'met' : 'not met'}. ` +
      (tokenProbe.repeatUs < tokenProbe.freshUs / 5
        ? `(TokenService caches verified tokens, so the platform rows skip the EdDSA verify for a token seen before, while the ceiling verifies every request; against bare Fastify without any verify, ${fmt(byKey(token, 'fastify').rps)} req/s, the kernel route reached ${pct(paired(token, 'kernel', 'fastify').median)}.) `
        : '') +
      `GET /v1/me, which adds one tenant transaction, ran at ${fmt(f.meRps)} req/s with ${meSample.cacheHitRate === null ? 'n/a' : pct(meSample.cacheHitRate)} session-cache hits and ${fmt(meSample.txPerRequest, 2)} transactions per request.`,
  );
  reading.push(
    `The tenant-scoped read through the full stack ran at ${fmt(f.readRps)} req/s, ${pct(readRatio)} of the raw transaction (${fmt(f.rawReadRps)} req/s); the target is >= 50%, ${readRatio >= 0.5 ? 'met' : 'not met'}. ` +
      `During it this process (the server) used ${fmt(readSample.cpu.self, 2)} cores with its event loop busy ${pct(readSample.elu)} of the time, the load generator ${fmt(readSample.cpu.load, 2)} and PostgreSQL ${fmt(readSample.cpu.postgres, 2)}, of ${os.cpus().length}; ` +
      `the raw driver needed ${fmt(rawSample.cpu.self, 2)} cores of Node for ${fmt(rawSample.rps)} transactions/s. Each full-stack read opened ${fmt(readSample.txPerRequest, 2)} transactions (${readSample.cacheHitRate === null ? 'n/a' : pct(readSample.cacheHitRate)} session-cache hits).`,
  );
  reading.push(
    `RLS overhead: the same transaction without RLS ran ${f.rlsOverhead >= 0 ? `${pct(f.rlsOverhead)} faster` : `${pct(-f.rlsOverhead)} slower`} than with it (target <= 10%, ${f.rlsOverhead <= 0.1 ? 'met' : 'not met'}); ` +
      `the SELECT alone, in one round trip, ran ${fmt(bareRps / rlsRps, 2)}x the wrapped read, so the transaction wrapper, not the policy, is the main cost.`,
  );
  reading.push(
    `At ${f.scale} the full-stack read's p99 was ${fmt(f.readP99, 2)} ms (raw ${fmt(f.rawReadP99, 2)} ms)` +
      (smallest && smallest.scale !== f.scale
        ? `; against the smallest scale recorded here (${smallest.scale}, p99 ${fmt(smallest.readP99, 2)} ms) that is ${fmt(f.readP99 / smallest.readP99, 2)}x (target within 1.5x).`
        : '.'),
  );

  const medians = [login, token, read, rls].flat().map((r) => r.median);
  const noisiest = Math.max(...medians.map((m) => Math.max(m.cpu.other, m.background)));
  const spreads = [login, token, read, rls].flat().map((r) => {
    const rates = r.runs.map((run) => run.rps);
    return { label: r.variant.label, spread: Math.max(...rates) / Math.min(...rates) };
  });
  const widest = spreads.reduce((a, b) => (b.spread > a.spread ? b : a));
  const stolen = Math.max(...medians.map((m) => m.cpu.steal));
  reading.push(
    (noisiest > 0.1
      ? `Caution: the machine is shared, and other processes used up to ${fmt(noisiest, 2)} cores around the reported runs (column "other processes"); the figures are lower than on a quiet machine. `
      : `Other processes used at most ${fmt(noisiest, 2)} cores around the reported runs, the hypervisor took up to ${fmt(stolen, 2)} cores. `) +
      `Runs of one variant differed by up to ${fmt(widest.spread, 2)}x (fastest ÷ slowest, ${widest.label}), so within a run the variants of a measurement take turns in short slices (${[...new Set([...sliceOf.values()].map((v) => fmt(v, 1)))].join(' or ')} s) and each ratio is the median of the per-run ratios.`,
  );

  const seedRows = seeded.timings.map((t) => `| ${t.label} | ${fmt(t.seconds, 2)} |`).join('\n');
  const historyRows = history
    .map(
      (h) =>
        `| ${h.date.slice(0, 16).replace('T', ' ')} | ${h.commit ?? 'n/a'} | ${h.scale} | ${fmt(h.seedSeconds, 1)} | ${fmt(h.loginRps, 1)} | ${fmt(h.kernelRps)} | ${fmt(h.meRps)} | ${fmt(h.readRps)} | ${fmt(h.readP99, 2)} | ${fmt(h.rawReadRps)} | ${fmt(h.rawReadP99, 2)} | ${pct(h.rlsOverhead)} |`,
    )
    .join('\n');

  return `# TSV Baseline benchmark report

Written by \`bench/run.ts\` on ${f.date}; every figure below is as measured by that run (regenerate, never edit). How to run and what each
measurement means: \`bench/README.md\`.

## Command

\`\`\`
${command}
\`\`\`

(\`npm run bench\` runs \`node --import tsx bench/run.ts\`.)

## Machine and versions

| CPU | cores | memory | Node | PostgreSQL |
|---|---:|---:|---|---|
| ${cpuModel()} | ${os.cpus().length} | ${fmt(os.totalmem() / 2 ** 30, 1)} GiB | ${process.version} | ${pgVersion} |

| fastify | pg | kysely | jose | @node-rs/argon2 | autocannon | pg-boss |
|---|---|---|---|---|---|---|
| ${versionOf('fastify')} | ${versionOf('pg')} | ${versionOf('kysely')} | ${versionOf('jose')} | ${versionOf('@node-rs/argon2')} | ${versionOf('autocannon')} | ${versionOf('pg-boss')} |

Source measured: ${source}.

The server (platform with api and worker, LOG_LEVEL silent), the in-process ceilings and PostgreSQL share the machine; autocannon runs in a
child process. Everything is on 127.0.0.1.

## Scale and setup

- ${f.scale} = ${totalUsers.toLocaleString('en-US')} users (one Argon2id hash reused), ${options.customers} customers per tenant; ${seeded.sessions.length.toLocaleString('en-US')} sessions with access tokens spread over the tenants; logins rotate over ${seeded.logins.length.toLocaleString('en-US')} users.
- ${options.connections} connections (login: ${options.loginConnections}), pipelining 1; ${options.runs} runs of ${options.seconds} s per variant after a ${options.warmup} s warm-up; within a run the variants of a measurement take turns in slices (login ${fmt(sliceOf.get('(a) login'), 1)} s, the others ${fmt(sliceOf.get('(c) read'), 1)} s); the median run (by req/s) is reported, ratios are medians of the per-run ratios.
- App pool ${config.databasePoolSize} connections (the raw driver uses a pool of the same size); session cache TTL ${config.sessionCacheTtlMs} ms; statement timeout ${config.queryTimeoutMs} ms; Argon2id m=${config.argon2.memoryCost} KiB, t=${config.argon2.timeCost}, p=${config.argon2.parallelism}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}.
- Platform start with migrations: ${fmt(startSeconds, 2)} s. Seeding (${fmt(seedSeconds, 1)} s in all, ${fmt(seeded.usersPerSecond)} users/s):

| step | seconds |
|---|---:|
${seedRows}

## Summary

| measurement | full stack req/s | p50 ms | p99 ms | ceiling | ceiling req/s | ratio (paired runs) | target | met |
|---|---:|---:|---:|---|---:|---:|---|---|
| (a) password login | ${fmt(f.loginRps, 1)} | ${fmt(byKey(login, 'login').p50, 1)} | ${fmt(byKey(login, 'login').p99, 1)} | raw Argon2id verify | ${fmt(f.argon2Rps, 1)} | ${pct(loginRatio)} | >= 90% | ${met(loginRatio >= 0.9)} |
| (b) token validation (kernel route) | ${fmt(f.kernelRps)} | ${fmt(byKey(token, 'kernel').p50, 2)} | ${fmt(byKey(token, 'kernel').p99, 2)} | bare Fastify + EdDSA verify | ${fmt(f.ceilingRps)} | ${pct(kernelRatio)} | >= 4,000/s | ${met(f.kernelRps >= 4000)} |
| (b) GET /v1/me | ${fmt(f.meRps)} | ${fmt(meSample.p50, 2)} | ${fmt(meSample.p99, 2)} | bare Fastify + EdDSA verify | ${fmt(f.ceilingRps)} | ${pct(meRatio)} | - | - |
| (c) tenant-scoped read | ${fmt(f.readRps)} | ${fmt(readSample.p50, 2)} | ${fmt(readSample.p99, 2)} | raw pg tenant transaction | ${fmt(f.rawReadRps)} | ${pct(readRatio)} | >= 50% | ${met(readRatio >= 0.5)} |
| (d) RLS overhead | ${fmt(rlsRps)} with RLS | ${fmt(byKey(rls, 'rls').p50, 2)} | ${fmt(byKey(rls, 'rls').p99, 2)} | same without RLS | ${fmt(byKey(rls, 'norls').rps)} | ${pct(f.rlsOverhead)} overhead | <= 10% | ${met(f.rlsOverhead <= 0.1)} |
| (f) rate limits in memory | ${fmt(limitsMemory.rps)} | ${fmt(limitsMemory.p50, 2)} | ${fmt(limitsMemory.p99, 2)} | kernel route, limits off | ${fmt(limitsOff.rps)} | ${pct(paired(limits, 'limits-memory', 'limits-off').median)} | - | - |
| (g) audit append, ${seeded.tenants.length} tenants in parallel (events/s) | ${fmt(auditSpread.rps)} | ${fmt(auditSpread.p50, 2)} | ${fmt(auditSpread.p99, 2)} | ${AUDIT_BATCH} events per transaction | ${fmt(auditBatch.rps)} | - | - | - |
| (h) billing ingest, batches of ${BILLING_BATCH} (events/s; ms per batch) | ${fmt(billingOne.rps)} | ${fmt(billingOne.p50, 2)} | ${fmt(billingOne.p99, 2)} | the same spread over tenants | ${fmt(billingSpread.rps)} | - | - | - |
| (e) read p99 at ${f.scale} | ${fmt(f.readRps)} | ${fmt(readSample.p50, 2)} | ${fmt(f.readP99, 2)} | raw p99 | ${fmt(f.rawReadP99, 2)} ms | - | flat within 1.5x to 1,000 x 10,000 | see (e) |
| (j) refresh token rotation | ${fmt(byKey(refresh, 'refresh').rps)} | ${fmt(byKey(refresh, 'refresh').p50, 2)} | ${fmt(byKey(refresh, 'refresh').p99, 2)} | - | - | - | - | - |
| (k) login with MFA (both steps) | ${fmt(byKey(mfa, 'login-mfa').rps, 1)} | ${fmt(byKey(mfa, 'login-mfa').p50, 1)} | ${fmt(byKey(mfa, 'login-mfa').p99, 1)} | - | - | - | - | - |
${oracles.map((pair) => `| (l) oracle: ${pair.title}, unknown - existing (p50 ms) | ${fmt(oracleGap(pair).gap, 2)} ms | - | - | the same path measured twice | ${fmt(oracleGap(pair).floor, 2)} ms | - | within 2x the floor or 1 ms | ${met(oracleClosed(pair))} |`).join('\n')}

## (a) Password login vs raw Argon2id verify

POST /v1/auth/login with \`{email, password, tenant}\` rotating over ${seeded.logins.length.toLocaleString('en-US')} users of all tenants (each login resolves the tenant, reads the user, verifies Argon2id, then writes a session, a refresh token and an audit event in one tenant transaction).
The ceiling is \`verify()\` of @node-rs/argon2 on the same stored hash with ${options.loginConnections} calls in flight, in this process, for the same duration.

${resultTable('(a) login', login)}

${ratioLine('Ratio login/s ÷ raw verify/s', paired(login, 'login', 'argon2'), f.loginRps / f.argon2Rps)}

## (b) Token validation

Access tokens of ${seeded.sessions.length.toLocaleString('en-US')} sessions across all tenants. GET /v1/me = token verification + session check (cache, else a tenant transaction) + one tenant transaction.
The routes that declare \`authenticated\` at this commit are ${authenticatedRoutes.map((r) => `\`${r}\``).join(', ') || 'none'}; none of them answers without the database, so the cheap variant is a
bench-only route \`/v1/bench/session\` added to a second instance of the platform's own HTTP kernel (\`createHttpServer\`: every hook, the guard and the session cache; the handler returns the actor).
The ceiling is bare Fastify verifying the same tokens with jose (EdDSA); the two reference rows are the same bare Fastify answering without verifying, and jose's verify alone in-process.
\`TokenService.verify\` took ${fmt(tokenProbe.freshUs)} µs for a token it had not seen and ${fmt(tokenProbe.repeatUs, 1)} µs on average for the same token again${
    tokenProbe.repeatUs < tokenProbe.freshUs / 5
      ? ': it caches verified tokens, and since every token here is sent many times, the platform rows pay the EdDSA verify only on a token\'s first use (the ceiling verifies every request)'
      : ': no cache of verified tokens is visible'
  }.

${resultTable('(b) tokens', token)}

${ratioLine('Kernel route ÷ bare Fastify + EdDSA ceiling', paired(token, 'kernel', 'ceiling'), f.kernelRps / f.ceilingRps)}
${ratioLine('GET /v1/me ÷ the same ceiling', paired(token, 'me', 'ceiling'), f.meRps / f.ceilingRps)}
${ratioLine('Kernel route ÷ bare Fastify without verify (HTTP floor)', paired(token, 'kernel', 'fastify'), f.kernelRps / byKey(token, 'fastify').rps)}
${ratioLine('Authorization with cached grants ÷ authenticated kernel route (cost of the permission check)', paired(token, 'authz', 'kernel'), byKey(token, 'authz').rps / f.kernelRps)}
${ratioLine('Authorization without the session cache ÷ with it (cost of resolving session and grants per request)', paired(token, 'authz-nocache', 'authz'), byKey(token, 'authz-nocache').rps / byKey(token, 'authz').rps)}

## (c) Tenant-scoped read vs the raw transaction

GET /v1/tenants/{tenantId}/customers/{id} with the tokens above (each token reads a customer of its own tenant). The ceiling runs the same point read with \`pg\` directly:
a Pool of ${config.databasePoolSize}, \`begin; set local role tsv_app; set local statement_timeout; select set_config('app.tenant_id', …)\` in one round trip, the SELECT Kysely
generates for \`findCustomerById\`, then COMMIT, with ${options.connections} in flight from this process.
The customer read is marked sensitive (audit-on-read, FR-AUD-005); as DESIGN's target asks, this measurement runs with \`AUDIT_ON_READ=${config.auditOnRead}\`
(with it on, each answer first appends a \`resource.read\` event to the tenant's chain in a transaction of its own).

${resultTable('(c) read', read)}

${ratioLine('Ratio full stack ÷ raw', paired(read, 'read', 'raw'), f.readRps / f.rawReadRps)}

## (d) RLS overhead

Both rows use the raw driver and the same three round trips. With RLS: \`customers\` as tsv_app (the policy supplies the tenant). Without: \`customers_norls\`
(a copy made with \`like customers including all\` and the same rows, no RLS), queried as the owner with an explicit \`where tenant_id = $1 and id = $2\`.
The third row is the SELECT alone on \`customers_norls\`, one round trip without a transaction, to show what the wrapper costs.

${resultTable('(d) rls', rls)}

${ratioLine('RLS overhead (req/s without RLS ÷ with RLS − 1)', paired(rls, 'norls', 'rls', (a, b) => a / b - 1), byKey(rls, 'norls').rps / rlsRps - 1)}


## (e) Tenant-scoped read p99 at scale

At ${f.scale} (${totalUsers.toLocaleString('en-US')} users) the full-stack read's p99 is **${fmt(f.readP99, 2)} ms** (p50 ${fmt(readSample.p50, 2)} ms) at ${options.connections} connections; the raw transaction's p99 is ${fmt(f.rawReadP99, 2)} ms.
Seeding took ${fmt(seedSeconds, 1)} s (users at ${fmt(seeded.usersPerSecond)} users/s). The 1,000 x 10,000 run is
\`BENCH_TENANTS=1000 BENCH_USERS=10000 npm run bench\`; at this run's seeding rate its 10,000,000 users alone would take about ${fmt(estimate10M / 60, 0)} min (an extrapolation, not a measurement).

Runs recorded on this machine (bench/results/*.json):

| date (UTC) | commit | scale | seed s | login/s | kernel route req/s | /v1/me req/s | read req/s | read p99 ms | raw read req/s | raw p99 ms | RLS overhead |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${historyRows}

## (f) Rate-limit overhead

The bench-only kernel route of (b) on three more instances of the platform's HTTP kernel that differ only in their rate limits: off, on with the
counters in memory, and on with the counters in Redis${limitsRedis ? '' : ' (left out: no Redis answered)'}. Every request draws from its user's and its tenant's budget (limits set
so high that nothing is refused); the tenant concurrency bound is off in all three. The full-stack rows above run with rate limits on in
${config.redisUrl ? 'Redis' : 'memory'}.

${resultTable('(f) rate limits', limits)}

${limitCostLine('In memory', limitsMemory)}
${limitsRedis ? limitCostLine('In Redis', limitsRedis) : ''}
${ratioLine('Kernel route with limits in memory ÷ limits off', paired(limits, 'limits-memory', 'limits-off'), limitsMemory.rps / limitsOff.rps)}

## (g) Audit append throughput

Events appended in this process the way the services append them: \`recordAudit\` inside \`db.withTenant\` (the chain head row is locked, the next
hash computed by PostgreSQL, the event inserted, in one statement), ${options.connections} writers in parallel. The rate column counts **events/s**;
the latencies are per transaction. One event per transaction across ${seeded.tenants.length} tenants' chains ran at **${fmt(auditSpread.rps)} events/s**
(p99 ${fmt(auditSpread.p99, 2)} ms); ${AUDIT_BATCH} events per transaction, as the ingest API appends a batch, at **${fmt(auditBatch.rps)} events/s**; every writer on one
tenant's chain at ${fmt(auditOne.rps)} events/s (the chain head lock serialises appends to one chain, so one tenant's rate is bounded by one
transaction at a time; tenants append in parallel).

${resultTable('(g) audit', audit)}

## (h) Billing ingest

POST /v1/apps/billing-events through the full stack with an application key (\`billing:write\`): the key checked (from the node's key cache), each
event checked on its own, then per tenant of the batch one transaction that inserts the events (\`on conflict do nothing\` on the idempotency key)
and appends one \`billing.events_ingested\` audit event. ${BILLING_CONNECTIONS} batches in flight from this process (which builds each batch of ${BILLING_BATCH} new events just before
sending it, so it shares its CPU with the server). The rate column counts **events/s**; the latencies are per batch. One tenant per batch:
**${fmt(billingOne.rps)} events/s** (p99 ${fmt(billingOne.p99, 1)} ms per batch); the same events spread over ${Math.min(BILLING_SPREAD, seeded.tenants.length)} tenants per batch: ${fmt(billingSpread.rps)} events/s;
a batch whose events are all duplicates: ${fmt(billingDuplicates.rps)} events/s.

${resultTable('(h) billing', billing)}

## (i) Flag delivery

GET /v1/apps/flags?tenant=… through the full stack with an application key (\`flags:read\`), rotating over the ${seeded.tenants.length} tenants: the key
checked (from the node's key cache), the tenant checked against the key's scope, the tenant's document (effective flags and tripped switches)
from the node's cache, and its strong ETag. A client without a copy gets the whole document: **${fmt(byKey(delivery, 'flags').rps)} req/s**
(p99 ${fmt(byKey(delivery, 'flags').p99, 2)} ms); a client whose copy is current sends its ETag and gets 304 without a body:
**${fmt(byKey(delivery, 'flags-304').rps)} req/s** (p99 ${fmt(byKey(delivery, 'flags-304').p99, 2)} ms). The SDK's client holds a stream open instead and
polls only while it has none.

${resultTable('(i) flags', delivery)}

## (j) Refresh token rotation

POST /v1/auth/refresh through the full stack, ${options.connections} chains at once (each request spends its refresh token and carries the next one to the
chain's following request): the token looked up in its tenant, the reuse check, the session's idle and absolute limits, the rotation, an audit
event, and a new access token signed. **${fmt(byKey(refresh, 'refresh').rps)} req/s**, p50 ${fmt(byKey(refresh, 'refresh').p50, 2)} ms,
p99 ${fmt(byKey(refresh, 'refresh').p99, 2)} ms. The requests are sent by fetch from the benchmark process, which shares its CPU with the server.

${resultTable('(j) refresh', refresh)}

## (k) Login with a second factor

The same users as (a), each with an authenticator app enrolled through the API before this measurement: POST /v1/auth/login answers
401 mfa-required with a challenge token (the password verified, the challenge stored), then POST /v1/auth/mfa/verify with the TOTP code
opens the session. A code is accepted once per user and time step, so each user signs in at most once per 30-second step after the
first two, so this measurement runs ${options.runs} runs of ${Math.min(options.seconds, 5)} s without warm-up. **${fmt(byKey(mfa, 'login-mfa').rps, 1)} sign-ins/s**, p50 ${fmt(byKey(mfa, 'login-mfa').p50, 1)} ms, p99 ${fmt(byKey(mfa, 'login-mfa').p99, 1)} ms
(both requests), against ${fmt(f.loginRps, 1)}/s for the password alone in (a). Sent by fetch from the benchmark process.

${resultTable('(k) login with MFA', mfa)}

## (l) Existence oracles

Whether the answer's timing tells that an account or an organization exists. One request at a time from the benchmark process (fetch),
${oracles[0]?.known.latencies.length ?? 0} samples per path in shuffled order, each account asked once (no lockout, slowdown or reset allowance takes part).
The floor is the same path measured twice with other existing accounts: a gap within twice the floor (or under 1 ms) cannot be told from noise.

| request | path | p50 ms | p90 ms | unknown - existing | floor | indistinguishable |
|---|---|---:|---:|---:|---:|---|
${oracles
  .flatMap((pair) =>
    [pair.known, pair.again, pair.unknown].map(
      (path, i) =>
        `| ${i === 0 ? pair.title : ''} | ${path.label} | ${fmt(quantile(path.latencies, 0.5), 2)} | ${fmt(quantile(path.latencies, 0.9), 2)} | ${i === 2 ? `${fmt(oracleGap(pair).gap, 2)} ms` : ''} | ${i === 2 ? `${fmt(oracleGap(pair).floor, 2)} ms` : ''} | ${i === 2 ? met(oracleClosed(pair)) : ''} |`,
    ),
  )
  .join('\n')}

## Reading

${reading.join(' ')}
`;
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
