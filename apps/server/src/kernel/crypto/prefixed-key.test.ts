import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger } from '../log.ts';
import { KeyVerifier, prefixedKeyFormat, type StoredKey } from './prefixed-key.ts';

const API = prefixedKeyFormat('key');
const APP = prefixedKeyFormat('app');

/** A verifier over an in-memory key table, counting loads and recorded uses. */
function verifierOver(rows: Map<string, StoredKey>, ttlMs = 30_000) {
  const counts = { loads: 0, uses: 0 };
  const verifier = new KeyVerifier<StoredKey>({
    format: API,
    log: createLogger('silent'),
    ttlMs,
    load: async (prefix) => {
      counts.loads++;
      const row = rows.get(prefix);
      return row ? { ...row } : null;
    },
    recordUse: async () => counts.uses++,
  });
  return { verifier, counts };
}

function stored(minted: { prefix: string; secretHash: string }, changes: Partial<StoredKey> = {}): StoredKey {
  return { keyId: `id-${minted.prefix}`, secretHash: minted.secretHash, usable: true, expiresAt: null, lastUsedAt: null, ...changes };
}

describe('prefixed keys (kernel/crypto/prefixed-key.ts)', () => {
  test('a minted key parses back to its prefix and secret, only as its own kind and exact form', () => {
    const minted = API.mint();
    assert.match(minted.key, /^tsv_key_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(API.parse(minted.key)?.prefix, minted.prefix);
    assert.equal(APP.parse(minted.key), null, 'another kind');
    for (const bad of [null, undefined, '', `${minted.key}x`, ` ${minted.key}`, minted.key.replace('tsv_key_', 'tsv_KEY_')]) assert.equal(API.parse(bad), null, String(bad));
    assert.notEqual(API.mint().prefix, minted.prefix);
  });

  test('verify accepts the exact secret of a usable, unexpired key and nothing else', async () => {
    const good = API.mint();
    const revoked = API.mint();
    const expired = API.mint();
    const rows = new Map([
      [good.prefix, stored(good)],
      [revoked.prefix, stored(revoked, { usable: false })],
      [expired.prefix, stored(expired, { expiresAt: new Date(Date.now() - 1_000) })],
    ]);
    const { verifier } = verifierOver(rows);
    assert.equal((await verifier.verify(good.key))?.keyId, `id-${good.prefix}`);
    const otherSecret = `tsv_key_${good.prefix}_${API.mint().key.slice(-43)}`;
    assert.equal(await verifier.verify(otherSecret), null, 'the prefix with another secret');
    assert.equal(await verifier.verify(revoked.key), null);
    assert.equal(await verifier.verify(expired.key), null);
    assert.equal(await verifier.verify(API.mint().key), null, 'an unknown prefix');
  });

  test('keys are cached until evicted or stale, and their use is recorded once a minute per node', async () => {
    const minted = API.mint();
    const rows = new Map([[minted.prefix, stored(minted)]]);
    const { verifier, counts } = verifierOver(rows);
    for (let i = 0; i < 3; i++) assert.ok(await verifier.verify(minted.key));
    assert.deepEqual(counts, { loads: 1, uses: 1 });
    // Revoked in the table: the cache answers until the change evicts it.
    rows.set(minted.prefix, stored(minted, { usable: false }));
    assert.ok(await verifier.verify(minted.key));
    verifier.evict((key) => key.keyId === `id-${minted.prefix}`);
    assert.equal(await verifier.verify(minted.key), null);
    assert.equal(counts.loads, 2);

    const { verifier: uncached, counts: reads } = verifierOver(new Map([[minted.prefix, stored(minted)]]), 0);
    await uncached.verify(minted.key);
    await uncached.verify(minted.key);
    assert.equal(reads.loads, 2, 'a TTL of 0 reads the table every time');
    assert.equal(uncached.size, 0);
  });
});
