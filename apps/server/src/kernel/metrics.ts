/**
 * Request figures per route family over the last 5 minutes (FR-SYS-005), for the operators' health
 * API. A ring of 30-second buckets holds, per family, the number of requests, the number of 5xx
 * answers and a latency histogram whose bins are 10% apart: p99 is known within 10% in fixed
 * memory whatever the traffic, and recording a request is a few array writes.
 */
const BUCKET_MS = 30_000;
const BUCKETS = 10;
export const WINDOW_SECONDS = (BUCKET_MS * BUCKETS) / 1000;

/** Bin i holds latencies up to MIN_MS * GROWTH^i; the last bin also holds everything slower. */
const MIN_MS = 0.05;
const GROWTH = 1.1;
const BINS = 160;
const LOG_GROWTH = Math.log(GROWTH);

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BINS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

const upperBoundOf = (bin: number) => MIN_MS * GROWTH ** bin;

interface FamilyStats {
  requests: number;
  errors: number;
  histogram: Uint32Array;
}

interface Bucket {
  /** Which 30-second step of the clock this bucket holds (Date.now() / BUCKET_MS, rounded down). */
  step: number;
  families: Map<string, FamilyStats>;
}

export interface RouteFamilyFigures {
  family: string;
  requests: number;
  errors: number;
  /** Share of 5xx answers, 0..1. */
  error_rate: number;
  /** Upper bound of the histogram bin holding the 99th percentile, in milliseconds. */
  p99_ms: number;
}

/**
 * The family of a route: the first two literal path segments after /v1 (parameters skipped), e.g.
 * `/v1/tenants/:tenantId/customers/:id` is `tenants/customers`. A request no route matched is
 * `(unmatched)`.
 */
export function routeFamily(url: string | undefined): string {
  if (!url) return '(unmatched)';
  const segments = url.split('/').filter((segment) => segment !== '' && !segment.startsWith(':') && segment !== '*');
  const literal = segments[0] === 'v1' ? segments.slice(1) : segments;
  return literal.slice(0, 2).join('/') || '(static)';
}

export class RouteMetrics {
  readonly #ring: (Bucket | null)[] = new Array<Bucket | null>(BUCKETS).fill(null);

  record(routeUrl: string | undefined, status: number, ms: number, now = Date.now()): void {
    const step = Math.floor(now / BUCKET_MS);
    const slot = step % BUCKETS;
    let bucket = this.#ring[slot];
    if (!bucket || bucket.step !== step) {
      bucket = { step, families: new Map() };
      this.#ring[slot] = bucket;
    }
    const family = routeFamily(routeUrl);
    let stats = bucket.families.get(family);
    if (!stats) {
      stats = { requests: 0, errors: 0, histogram: new Uint32Array(BINS) };
      bucket.families.set(family, stats);
    }
    stats.requests++;
    if (status >= 500) stats.errors++;
    stats.histogram[binOf(ms)]!++;
  }

  /** The figures of every family seen in the window, busiest first. */
  snapshot(now = Date.now()): RouteFamilyFigures[] {
    const current = Math.floor(now / BUCKET_MS);
    const merged = new Map<string, FamilyStats>();
    for (const bucket of this.#ring) {
      if (!bucket || bucket.step <= current - BUCKETS || bucket.step > current) continue;
      for (const [family, stats] of bucket.families) {
        let total = merged.get(family);
        if (!total) {
          total = { requests: 0, errors: 0, histogram: new Uint32Array(BINS) };
          merged.set(family, total);
        }
        total.requests += stats.requests;
        total.errors += stats.errors;
        for (let bin = 0; bin < BINS; bin++) total.histogram[bin]! += stats.histogram[bin]!;
      }
    }
    return [...merged]
      .map(([family, stats]) => ({
        family,
        requests: stats.requests,
        errors: stats.errors,
        error_rate: stats.requests ? stats.errors / stats.requests : 0,
        p99_ms: percentileOf(stats.histogram, stats.requests, 0.99),
      }))
      .sort((a, b) => b.requests - a.requests || a.family.localeCompare(b.family));
  }
}

function percentileOf(histogram: Uint32Array, count: number, quantile: number): number {
  if (count === 0) return 0;
  const rank = Math.ceil(count * quantile);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += histogram[bin]!;
    if (seen >= rank) return Math.round(upperBoundOf(bin) * 100) / 100;
  }
  return Math.round(upperBoundOf(BINS - 1) * 100) / 100;
}
