/** The parent's side of the load generator (bench/load.ts, a child process running autocannon). */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { AutocannonRequest } from 'autocannon';
import type { LoadJob, LoadOutcome } from '../load.ts';
import type { Core } from './engine.ts';
import { BENCH_DIR } from './paths.ts';

export class LoadGenerator {
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
