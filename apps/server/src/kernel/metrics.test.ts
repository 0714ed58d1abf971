import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routeFamily, RouteMetrics } from './metrics.ts';

describe('route metrics (FR-SYS-005)', () => {
  test('the family is the first two literal segments after /v1', () => {
    assert.equal(routeFamily('/v1/tenants/:tenantId/customers/:id'), 'tenants/customers');
    assert.equal(routeFamily('/v1/platform/apps/:appId/keys'), 'platform/apps');
    assert.equal(routeFamily('/v1/apps/billing-events'), 'apps/billing-events');
    assert.equal(routeFamily('/v1/me'), 'me');
    assert.equal(routeFamily('/healthz'), 'healthz');
    assert.equal(routeFamily(undefined), '(unmatched)');
  });

  test('error rate counts 5xx only; p99 is within 10% of the true value', () => {
    const metrics = new RouteMetrics();
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    // 1,000 requests: latencies 1..1000 ms, every 50th a 500, every 10th a 404.
    for (let i = 1; i <= 1000; i++) metrics.record('/v1/tenants/:tenantId/customers', i % 50 === 0 ? 500 : i % 10 === 0 ? 404 : 200, i, now);
    metrics.record('/v1/me', 200, 2, now);
    const [customers, me] = metrics.snapshot(now);
    assert.equal(customers!.family, 'tenants/customers');
    assert.equal(customers!.requests, 1000);
    assert.equal(customers!.errors, 20);
    assert.equal(customers!.error_rate, 0.02);
    assert.ok(customers!.p99_ms >= 990 && customers!.p99_ms <= 990 * 1.1, `p99 ${customers!.p99_ms}`);
    assert.equal(me!.family, 'me');
    assert.ok(me!.p99_ms >= 2 && me!.p99_ms <= 2.2);
  });

  test('only the last 5 minutes count; old buckets are reused, not added', () => {
    const metrics = new RouteMetrics();
    const start = Date.UTC(2026, 0, 1, 12, 0, 0);
    metrics.record('/v1/me', 500, 10, start);
    metrics.record('/v1/me', 200, 10, start + 4 * 60_000);
    assert.deepEqual(metrics.snapshot(start + 4 * 60_000).map((f) => [f.requests, f.errors]), [[2, 1]]);
    // Six minutes on, the first request has left the window.
    assert.deepEqual(metrics.snapshot(start + 6 * 60_000).map((f) => [f.requests, f.errors]), [[1, 0]]);
    // Exactly one ring later the first bucket's slot is taken by a new one, which starts empty.
    metrics.record('/v1/me', 200, 10, start + 5 * 60_000);
    assert.deepEqual(metrics.snapshot(start + 5 * 60_000).map((f) => [f.requests, f.errors]), [[2, 0]]);
    assert.deepEqual(metrics.snapshot(start + 20 * 60_000), []);
  });
});
