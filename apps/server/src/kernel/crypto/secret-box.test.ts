import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createSecretBox, loadSecretBox } from './secret-box.ts';

describe('secret box: secrets at rest (FR-AUTH-003)', () => {
  test('seals and opens; the ciphertext names its key and never holds the plaintext', () => {
    const box = createSecretBox([randomBytes(32)]);
    const sealed = box.seal('client-secret-value', 'tenant-a/sso');
    assert.match(sealed, new RegExp(`^v1\\.${box.currentKeyId}\\.`));
    assert.ok(!sealed.includes('client-secret-value'));
    assert.notEqual(box.seal('client-secret-value', 'tenant-a/sso'), sealed, 'a fresh IV every time');
    assert.equal(box.open(sealed, 'tenant-a/sso'), 'client-secret-value');
  });

  test('a value copied to another place, or altered, does not open', () => {
    const box = createSecretBox([randomBytes(32)]);
    const sealed = box.seal('s3cret', 'tenant-a/sso');
    assert.throws(() => box.open(sealed, 'tenant-b/sso'));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'tenant-a/sso'));
    assert.throws(() => box.open('plain text', 'tenant-a/sso'));
  });

  test('rotation: the previous key still opens what it sealed; a removed key is named', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const sealed = createSecretBox([oldKey]).seal('s3cret', 'x');
    assert.equal(createSecretBox([newKey, oldKey]).open(sealed, 'x'), 's3cret');
    assert.throws(() => createSecretBox([newKey]).open(sealed, 'x'), /unknown key/);
  });

  test('without SECRETS_KEY: a key generated once into the data directory; production refuses', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsv-secret-box-'));
    try {
      const first = await loadSecretBox({ keys: [], environment: 'development', dataDir });
      const second = await loadSecretBox({ keys: [], environment: 'development', dataDir });
      assert.equal(second.open(first.seal('v', 'x'), 'x'), 'v');
      await assert.rejects(loadSecretBox({ keys: [], environment: 'production', dataDir }), /SECRETS_KEY/);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
