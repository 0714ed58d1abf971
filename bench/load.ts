/**
 * The load generator: a child process (forked by lib/load-generator.ts) that drives autocannon
 * against the server, so that the client's work does not share the server's event loop. It receives
 * one job at a time over IPC and answers with the figures; it exits when the parent disconnects.
 *
 * Latencies are recorded from autocannon's `response` event in floating-point milliseconds
 * (autocannon's own histogram keeps whole milliseconds) and sent back whole, so that the harness can
 * merge the slices of a run and reduce them the same way as its in-process timings.
 */
import autocannon, { type AutocannonClient, type AutocannonRequest } from 'autocannon';
import { performance } from 'node:perf_hooks';

export interface LoadJob {
  type: 'load';
  id: number;
  url: string;
  connections: number;
  seconds: number;
  /** Spread over the connections: each connection cycles through its own shuffled share. */
  requests: AutocannonRequest[];
  /** A status that counts as success besides 2xx (304 for conditional requests). */
  okStatus?: number;
}

export interface LoadOutcome {
  type: 'result';
  id: number;
  ok: number;
  /** Responses by status code (all codes, including 2xx). */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Latencies (ms) of the 2xx responses, ascending. */
  latencies: number[];
  /** CPU time this process used during the run, in seconds. */
  cpuSeconds: number;
}

function shuffle<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The k-th of n shares of the list; with fewer items than connections, a rotation of all of them. */
function shareOf(items: AutocannonRequest[], k: number, n: number): AutocannonRequest[] {
  if (items.length < n * 2) return items.slice(k % items.length).concat(items.slice(0, k % items.length));
  return items.filter((_, index) => index % n === k);
}

function runLoad(job: LoadJob): Promise<LoadOutcome> {
  const shuffled = shuffle(job.requests);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let clients = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        pipelining: 1,
        duration: job.seconds,
        timeout: 30,
        // A one-entry list keeps autocannon's per-client copy of the options small; each client
        // is then given its own share below.
        requests: shuffled.slice(0, 1),
        setupClient: (client: AutocannonClient) => client.setRequests(shareOf(shuffled, clients++, job.connections)),
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          type: 'result',
          id: job.id,
          ok: sorted.length,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          latencies: Array.from(sorted),
          cpuSeconds: (used.user + used.system) / 1e6,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if ((status >= 200 && status < 300) || status === job.okStatus) latencies.push(ms);
    });
  });
}

if (process.send) {
  process.on('message', (job: LoadJob) => {
    runLoad(job).then(
      (outcome) => process.send!(outcome),
      (error: unknown) => process.send!({ type: 'error', id: job.id, message: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
