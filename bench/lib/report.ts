/**
 * The report: bench/REPORT.md, a dated copy and the raw figures (JSON) in bench/results/. Each suite
 * renders its own summary rows, section and sentences; this file puts them in the report's frame
 * (command, machine, setup, summary, reading) and adds (e), the read of (c) at this run's scale
 * against the earlier runs recorded here.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from '../../apps/server/src/kernel/config.ts';
import type { Running } from '../../apps/server/src/start.ts';
import { byKey, MAX_REPEATS, paired, repeats, sliceOf, type Result } from './engine.ts';
import { fmt, pct } from './format.ts';
import { cpuModel, sourceVersion, versionOf } from './machine.ts';
import type { Options } from './options.ts';
import { BENCH_DIR, ROOT } from './paths.ts';
import { progress } from './progress.ts';
import type { Seeded } from './seed.ts';
import type { BenchSuite, SuiteOutcome, SuiteReport } from './suite.ts';

/** The headline figures of a run, kept in its results file: later runs list them in (e). */
export interface Figures {
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

/** A suite that ran, with what it handed back. */
export interface Ran {
  suite: BenchSuite;
  outcome: SuiteOutcome;
}

export function resultTable(title: string, results: Result[]): string {
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

export const ratioLine = (what: string, p: { each: number[]; median: number }, ofMedians: number) =>
  `${what} = **${pct(p.median)}** (median of the paired runs: ${p.each.map(pct).join(', ')}; ratio of the two median runs: ${pct(ofMedians)}).`;

export const met = (ok: boolean) => (ok ? 'yes' : '**no**');

/** The suite of that name and what it handed back (a report is written only when every suite ran). */
const ranNamed = (ran: Ran[], name: string) => ran.find((r) => r.suite.name === name)!;
const resultsOf = (ran: Ran[], name: string) => ranNamed(ran, name).outcome.results!;

/** The command line of this run, with the BENCH_* settings (and the server, without credentials). */
function commandLine(script: string): string {
  const envShown = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  if (process.env.DATABASE_URL) envShown.push(`DATABASE_URL=${process.env.DATABASE_URL.replace(/\/\/[^@/]*@/, '//***@')}`);
  return [...envShown, 'node', ...process.execArgv, path.relative(ROOT, script), ...process.argv.slice(2)].join(' ');
}

/** Computes the headline figures, renders the report and writes it with the results file. */
export async function writeReport(input: {
  options: Options;
  config: Config;
  running: Running;
  seeded: Seeded;
  seedSeconds: number;
  startSeconds: number;
  scale: string;
  /** The source version when the run began (see sourceVersion()). */
  sourceAtStart: string;
  /** The harness's entry point, for the command line. */
  script: string;
  /** Every suite, in the order they ran. */
  ran: Ran[];
}): Promise<void> {
  const { options, config, running, seeded, seedSeconds, startSeconds, scale, sourceAtStart, script, ran } = input;
  const login = resultsOf(ran, 'login');
  const token = resultsOf(ran, 'token');
  const read = resultsOf(ran, 'read');
  const rls = resultsOf(ran, 'rls');
  const pgVersion = (await sql<{ v: string }>`select version() as v`.execute(running.platform.db.owner)).rows[0]!.v;
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
  const command = commandLine(script);

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
    ran,
    history,
    source: (() => {
      const atEnd = sourceVersion();
      return atEnd === sourceAtStart ? sourceAtStart : `${sourceAtStart}, loaded at the start (the tree changed to ${atEnd} during the run)`;
    })(),
  });
  const plain = (results: Result[]) => results.map(({ variant, median, runs }) => ({ key: variant.key, label: variant.label, median, runs }));
  const json = {
    figures: f,
    options: { ...options, serverUrl: undefined },
    command,
    results: Object.fromEntries(ran.flatMap(({ suite, outcome }) => (outcome.results ? [[suite.name, plain(outcome.results)]] : []))),
    ...Object.fromEntries(ran.flatMap(({ suite, outcome }) => (outcome.record === undefined ? [] : [[suite.name, outcome.record]]))),
  };
  await fsp.writeFile(path.join(resultsDir, `${baseName}.json`), JSON.stringify(json, null, 2));
  await fsp.writeFile(path.join(resultsDir, `${baseName}.md`), report);
  await fsp.writeFile(path.join(BENCH_DIR, 'REPORT.md'), report);
  progress(`report written: bench/REPORT.md (and bench/results/${baseName}.md/.json)`);
  process.stdout.write(`\n${report}\n`);
}

/** (e): the read of (c) at this run's scale, against the runs recorded on this machine. */
function scaleReport(input: { options: Options; f: Figures; seeded: Seeded; seedSeconds: number; read: Result[]; history: Figures[] }): SuiteReport {
  const { options, f, seeded, seedSeconds, read, history } = input;
  const readSample = byKey(read, 'read');
  const totalUsers = options.tenants * options.users;
  const estimate10M = 10_000_000 / seeded.usersPerSecond;
  const flat = history.filter((h) => Number.isFinite(h.readP99));
  const smallest = flat.reduce<Figures | null>((a, h) => (a === null || h.tenants * h.users < a.tenants * a.users ? h : a), null);
  const historyRows = history
    .map(
      (h) =>
        `| ${h.date.slice(0, 16).replace('T', ' ')} | ${h.commit ?? 'n/a'} | ${h.scale} | ${fmt(h.seedSeconds, 1)} | ${fmt(h.loginRps, 1)} | ${fmt(h.kernelRps)} | ${fmt(h.meRps)} | ${fmt(h.readRps)} | ${fmt(h.readP99, 2)} | ${fmt(h.rawReadRps)} | ${fmt(h.rawReadP99, 2)} | ${pct(h.rlsOverhead)} |`,
    )
    .join('\n');
  return {
    summary: [
      `| (e) read p99 at ${f.scale} | ${fmt(f.readRps)} | ${fmt(readSample.p50, 2)} | ${fmt(f.readP99, 2)} | raw p99 | ${fmt(f.rawReadP99, 2)} ms | - | flat within 1.5x to 1,000 x 10,000 | see (e) |`,
    ],
    section: `## (e) Tenant-scoped read p99 at scale

At ${f.scale} (${totalUsers.toLocaleString('en-US')} users) the full-stack read's p99 is **${fmt(f.readP99, 2)} ms** (p50 ${fmt(readSample.p50, 2)} ms) at ${options.connections} connections; the raw transaction's p99 is ${fmt(f.rawReadP99, 2)} ms.
Seeding took ${fmt(seedSeconds, 1)} s (users at ${fmt(seeded.usersPerSecond)} users/s). The 1,000 x 10,000 run is
\`BENCH_TENANTS=1000 BENCH_USERS=10000 npm run bench\`; at this run's seeding rate its 10,000,000 users alone would take about ${fmt(estimate10M / 60, 0)} min (an extrapolation, not a measurement).

Runs recorded on this machine (bench/results/*.json):

| date (UTC) | commit | scale | seed s | login/s | kernel route req/s | /v1/me req/s | read req/s | read p99 ms | raw read req/s | raw p99 ms | RLS overhead |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${historyRows}`,
    reading: [
      `At ${f.scale} the full-stack read's p99 was ${fmt(f.readP99, 2)} ms (raw ${fmt(f.rawReadP99, 2)} ms)` +
        (smallest && smallest.scale !== f.scale
          ? `; against the smallest scale recorded here (${smallest.scale}, p99 ${fmt(smallest.readP99, 2)} ms) that is ${fmt(f.readP99 / smallest.readP99, 2)}x (target within 1.5x).`
          : '.'),
    ],
  };
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
  ran: Ran[];
  history: Figures[];
  source: string;
}): string {
  const { options, config, f, command, pgVersion, seeded, seedSeconds, startSeconds, ran, history, source } = input;
  const totalUsers = options.tenants * options.users;
  const parts = ran.map(({ suite, outcome }) => ({ name: suite.name, ...outcome.report(f) }));
  // (e) reads (c) at this scale: its section and sentence follow (d)'s, its summary row follows (h)'s.
  const atScale = scaleReport({ options, f, seeded, seedSeconds, read: resultsOf(ran, 'read'), history });
  const withScaleAfter = (name: string) => parts.flatMap((part) => (part.name === name ? [part, atScale] : [part]));
  const summary = withScaleAfter('billing').flatMap((part) => part.summary);
  const inOrder = withScaleAfter('rls');

  const reading = inOrder.flatMap((part) => part.reading);
  const observed = ['login', 'token', 'read', 'rls'].flatMap((name) => resultsOf(ran, name));
  const medians = observed.map((r) => r.median);
  const noisiest = Math.max(...medians.map((m) => Math.max(m.cpu.other, m.background)));
  const spreads = observed.map((r) => {
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
- ${options.connections} connections (login: ${options.loginConnections}), pipelining 1; ${options.runs} runs of ${options.seconds} s per variant after a ${options.warmup} s warm-up; within a run the variants of a measurement take turns in slices (login ${fmt(sliceOf.get(ranNamed(ran, 'login').suite.title), 1)} s, the others ${fmt(sliceOf.get(ranNamed(ran, 'read').suite.title), 1)} s); the median run (by req/s) is reported, ratios are medians of the per-run ratios.
- App pool ${config.databasePoolSize} connections (the raw driver uses a pool of the same size); session cache TTL ${config.sessionCacheTtlMs} ms; statement timeout ${config.queryTimeoutMs} ms; Argon2id m=${config.argon2.memoryCost} KiB, t=${config.argon2.timeCost}, p=${config.argon2.parallelism}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}.
- Platform start with migrations: ${fmt(startSeconds, 2)} s. Seeding (${fmt(seedSeconds, 1)} s in all, ${fmt(seeded.usersPerSecond)} users/s):

| step | seconds |
|---|---:|
${seedRows}

## Summary

| measurement | full stack req/s | p50 ms | p99 ms | ceiling | ceiling req/s | ratio (paired runs) | target | met |
|---|---:|---:|---:|---|---:|---:|---|---|
${summary.join('\n')}

${inOrder.map((part) => part.section).join('\n\n')}

## Reading

${reading.join(' ')}
`;
}
