/** Progress lines on stderr, timed from the start of the run. */
import { performance } from 'node:perf_hooks';

const began = performance.now();
export function progress(message: string) {
  process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}
