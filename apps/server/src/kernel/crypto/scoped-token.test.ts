import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { mintScopedToken, parseScopedToken } from './scoped-token.ts';

describe('scoped tokens: one format and one validation rule for every opaque token', () => {
  test('a minted token parses back to its tenant, its secret and the stored hash', () => {
    const tenantId = randomUUID();
    const minted = mintScopedToken(tenantId);
    assert.match(minted.token, new RegExp(`^${tenantId}\\.[A-Za-z0-9_-]{43}$`));
    assert.equal(minted.hash, createHash('sha256').update(minted.secret).digest('hex'));
    assert.deepEqual(parseScopedToken(minted.token), { tenantId, secret: minted.secret, hash: minted.hash });
    const platform = mintScopedToken(null);
    assert.ok(platform.token.startsWith('platform.'));
    assert.equal(parseScopedToken(platform.token)?.tenantId, null);
    assert.notEqual(mintScopedToken(tenantId).secret, minted.secret, 'a new secret every time');
  });

  test('an upper-case tenant id names the same tenant', () => {
    const minted = mintScopedToken(randomUUID());
    assert.equal(parseScopedToken(minted.token.toUpperCase().replace(/\..*/, `.${minted.secret}`))?.tenantId, minted.tenantId);
  });

  test('attack: anything mintScopedToken could not have made is refused before any lookup', () => {
    const { secret } = mintScopedToken(null);
    const tenantId = randomUUID();
    for (const token of [
      '',
      secret,
      `${tenantId}.`,
      `.${secret}`,
      `${tenantId}.${secret}.extra`,
      `not-a-tenant.${secret}`,
      `${tenantId}.${secret.slice(0, 42)}`,
      `${tenantId}.${secret}A`,
      `${tenantId}.${secret.slice(0, 42)}=`,
      `${tenantId}.${secret.slice(0, 42)}+`,
      `PLATFORM.${secret}`,
    ]) {
      assert.equal(parseScopedToken(token), null, token);
    }
  });
});
