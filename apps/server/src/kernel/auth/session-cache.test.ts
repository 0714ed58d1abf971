import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeRevocation, encodeRevocation, SessionCache, type SessionRevocation } from './session-cache.ts';

const NOW = 1_700_000_000_000;
const LATER = new Date(NOW + 3_600_000);
const NO_GRANTS = new Map();
const isActive = (cache: SessionCache, id: string, now: number) => cache.get(id, now) !== null;

/** A cache with sessions s1, s2 (user u1, tenant t1), s3 (user u2, tenant t1), s4 (user u3, tenant t2), s5 (operator). */
function filled(ttlMs = 5_000) {
  const cache = new SessionCache(ttlMs);
  cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
  cache.remember('s2', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
  cache.remember('s3', { tenantId: 't1', userId: 'u2', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
  cache.remember('s4', { tenantId: 't2', userId: 'u3', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
  cache.remember('s5', { tenantId: null, userId: 'op', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
  return cache;
}

const active = (cache: SessionCache) => ['s1', 's2', 's3', 's4', 's5'].filter((id) => isActive(cache, id, NOW));

describe('SessionCache', () => {
  test('an unknown session is not active (the guard must ask the database)', () => {
    assert.equal(isActive(new SessionCache(5_000), 'nope', NOW), false);
  });

  test('a remembered session is active until its TTL runs out, then forgotten', () => {
    const cache = new SessionCache(5_000);
    cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
    assert.equal(isActive(cache, 's1', NOW + 4_999), true);
    assert.equal(isActive(cache, 's1', NOW + 5_000), true);
    assert.equal(isActive(cache, 's1', NOW + 5_001), false);
    assert.equal(cache.size, 0, 'the stale entry is dropped');
  });

  test('a session is never active past its own expiry, even within the TTL', () => {
    const cache = new SessionCache(60_000);
    cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: new Date(NOW + 1_000), grants: NO_GRANTS, impersonatorId: null }, NOW);
    assert.equal(isActive(cache, 's1', NOW + 999), true);
    assert.equal(isActive(cache, 's1', NOW + 1_001), false);
  });

  test('a TTL of 0 disables caching: every request goes to the database', () => {
    const cache = new SessionCache(0);
    cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
    assert.equal(isActive(cache, 's1', NOW), false);
    assert.equal(cache.size, 0);
  });

  test('remembering again refreshes the TTL', () => {
    const cache = new SessionCache(5_000);
    cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
    cache.remember('s1', { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW + 4_000);
    assert.equal(isActive(cache, 's1', NOW + 8_000), true);
  });

  test('the cache never grows past its bound', () => {
    const cache = new SessionCache(5_000, 3);
    for (let i = 0; i < 10; i++) cache.remember(`s${i}`, { tenantId: 't1', userId: 'u1', expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
    assert.ok(cache.size <= 3);
    assert.equal(isActive(cache, 's9', NOW), true, 'the newest entry is kept');
  });

  test('revoking a session evicts only that session', () => {
    const cache = filled();
    cache.apply({ kind: 'session', id: 's1' });
    assert.deepEqual(active(cache), ['s2', 's3', 's4', 's5']);
  });

  test("revoking a user evicts every session of that user and nobody else's", () => {
    const cache = filled();
    cache.apply({ kind: 'user', id: 'u1' });
    assert.deepEqual(active(cache), ['s3', 's4', 's5']);
  });

  test('revoking a tenant evicts every session of that tenant, leaving other tenants and operators', () => {
    const cache = filled();
    cache.apply({ kind: 'tenant', id: 't1' });
    assert.deepEqual(active(cache), ['s4', 's5']);
  });

  test("'all' evicts everything", () => {
    const cache = filled();
    cache.apply({ kind: 'all' });
    assert.deepEqual(active(cache), []);
    assert.equal(cache.size, 0);
  });

  test('a role change in a tenant evicts that tenant\'s sessions so their grants are resolved again', () => {
    const cache = filled();
    cache.apply({ kind: 'grants', id: 't1' });
    assert.deepEqual(active(cache), ['s4', 's5']);
  });

  test('a full cache drops its oldest entry, not everything', () => {
    const cache = new SessionCache(5_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) cache.remember(id, { tenantId: 't1', userId: id, expiresAt: LATER, grants: NO_GRANTS, impersonatorId: null }, NOW);
    assert.equal(cache.size, 3);
    assert.deepEqual(['a', 'b', 'c', 'd'].filter((id) => isActive(cache, id, NOW)), ['b', 'c', 'd']);
  });

  test('revocations survive the NOTIFY encoding round trip', () => {
    const revocations: SessionRevocation[] = [
      { kind: 'session', id: '0b8f3c1e-4a1d-4d3b-9f55-2a2c9f3e8a10' },
      { kind: 'user', id: 'u1' },
      { kind: 'tenant', id: 't1' },
      { kind: 'grants', id: 't1' },
      { kind: 'all' },
    ];
    for (const revocation of revocations) assert.deepEqual(decodeRevocation(encodeRevocation(revocation)), revocation);
  });

  test('a garbage payload decodes to "all" and clears everything (fail closed)', () => {
    for (const garbage of ['', 'nonsense', 'session', 'session:', 'group:g1', ':s1', 'SESSION:s1', '{"kind":"session","id":"s1"}']) {
      assert.deepEqual(decodeRevocation(garbage), { kind: 'all' }, `payload ${JSON.stringify(garbage)}`);
      const cache = filled();
      cache.apply(decodeRevocation(garbage));
      assert.equal(cache.size, 0, `payload ${JSON.stringify(garbage)} left entries behind`);
    }
  });
});
