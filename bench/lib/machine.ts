/**
 * The machine's figures: CPU time of the whole machine and of this benchmark's PostgreSQL
 * processes (from /proc), the wait for a quiet machine, and the versions the report names.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt } from './format.ts';
import type { Options } from './options.ts';
import { ROOT, SERVER_DIR } from './paths.ts';
import { progress } from './progress.ts';

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
export function machineSeconds(): { processes: number; interrupts: number; steal: number } {
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
export function countBackendsOf(database: string) {
  benchDatabase = database;
}

/** The server's own processes, shared by every database (counted as ours). */
const POSTGRES_AUXILIARY = /: (checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|stats collector|archiver)\b/;

/**
 * CPU ticks, by pid, of the PostgreSQL processes working for this benchmark, from /proc: the
 * backends (and autovacuum workers) of the benchmark database and the server's auxiliary
 * processes. Backends of other databases (other people's tests) are not counted.
 */
export function postgresTicks(): Map<string, number> {
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
export function postgresSecondsBetween(before: Map<string, number>, after: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, value] of after) ticks += value - (before.get(pid) ?? 0);
  return ticks / CLOCK_TICKS;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The machine is shared: waits (up to options.quietWait s) until processes other than this one
 * and PostgreSQL use less than options.quietCores cores over one second. Returns that figure.
 */
export async function waitForQuiet(options: Options): Promise<number> {
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

export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The version of a dependency as the server resolves it (apps/server/node_modules, then the root). */
export function versionOf(name: string): string {
  for (const base of [path.join(SERVER_DIR, 'node_modules'), path.join(ROOT, 'node_modules')]) {
    const file = path.join(base, name, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'not found';
}

/** The commit measured, and whether the server's sources differ from it (others work in the tree). */
export function sourceVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const commit = git('log', '-1', '--format=%h %s');
    const changed = git('status', '--porcelain', '--', 'apps/server').split('\n').filter(Boolean).length;
    return `${commit}${changed ? ` (plus ${changed} uncommitted change(s) under apps/server)` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}
