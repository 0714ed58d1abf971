/**
 * Driving and measuring: a variant is one way of doing a suite's work (the full stack, its
 * ceiling, a reference); suite() warms the variants up, measures them in rounds of interleaved
 * slices with the machine's figures around each slice, and reduces each variant's runs.
 */
import { performance } from 'node:perf_hooks';
import { fmt, pct } from './format.ts';
import { machineSeconds, postgresSecondsBetween, postgresTicks, waitForQuiet } from './machine.ts';
import type { Options } from './options.ts';
import { progress } from './progress.ts';
import { medianBy, percentile } from './stats.ts';

/** What one variant's run yields before the harness adds the machine figures. */
export interface Core {
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

export interface Sample {
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

export interface Variant {
  key: string;
  label: string;
  http: boolean;
  /** Goes through the platform's guard (session-cache figures apply). */
  guarded?: boolean;
  run(seconds: number): Promise<Core>;
}

export interface Result {
  variant: Variant;
  median: Sample;
  runs: Sample[];
}

/** Counters that the instrumented platform objects bump (see instrument()). */
export const counters = { cacheHits: 0, cacheMisses: 0, transactions: 0 };

/** The i-th item of a list used in rotation (drive() numbers its calls). */
export const pick = <T>(items: T[], i: number) => items[i % items.length]!;

/** Runs op with `concurrency` loops for `seconds`, timing each call; a thrown error counts as failed. */
export async function drive(concurrency: number, seconds: number, op: (i: number) => Promise<unknown>): Promise<Core> {
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

export const MAX_REPEATS = 3;
/** How many rounds of each suite were measured again because the machine was disturbed. */
export const repeats = new Map<string, number>();
/** The slice length each suite used. */
export const sliceOf = new Map<string, number>();

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
export async function suite(title: string, all: Variant[], options: Options, slice = options.slice): Promise<Result[]> {
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

/**
 * Ratios of two variants run by run: the i-th runs of both were measured one right after the other,
 * so their ratio is less exposed to the machine's speed drifting over minutes than the ratio of
 * the two median runs. Returns every run's ratio and their median.
 */
export function paired(results: Result[], numerator: string, denominator: string, ratio = (a: number, b: number) => a / b) {
  const a = results.find((r) => r.variant.key === numerator)!.runs;
  const b = results.find((r) => r.variant.key === denominator)!.runs;
  const each = a.map((run, i) => ratio(run.rps, b[i]!.rps));
  return { each, median: medianBy(each, (x) => x) };
}

export function byKey(results: Result[], key: string): Sample {
  const found = results.find((r) => r.variant.key === key);
  if (!found) throw new Error(`no result ${key}`);
  return found.median;
}
