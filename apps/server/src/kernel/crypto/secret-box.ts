import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Secrets stored in the database (SSO client secrets, provider keys) are sealed with AES-256-GCM
 * under a key from the environment. A sealed value is `v1.<key id>.<iv>.<ciphertext>.<tag>`
 * (base64url): the key id names the key that sealed it, so keys rotate by putting the new key in
 * SECRETS_KEY and the old one in SECRETS_KEY_PREVIOUS until every value is sealed again.
 * The associated data binds a value to where it is stored (a tenant and a purpose): a ciphertext
 * copied into another row does not open.
 */
export interface SecretBox {
  seal(plaintext: string, associatedData: string): string;
  open(sealed: string, associatedData: string): string;
  /** The id of the key that seals; a value sealed under another key should be sealed again. */
  readonly currentKeyId: string;
  /**
   * A 32-byte key for another purpose, derived from the sealing key (HKDF-SHA-256, the purpose as
   * info): it changes when SECRETS_KEY is rotated.
   */
  deriveKey(purpose: string): Buffer;
}

const VERSION = 'v1';
const KEY_FILE = 'secrets-key';

export class SecretBoxError extends Error {}

const keyIdOf = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

export function createSecretBox(keys: readonly Buffer[]): SecretBox {
  if (keys.length === 0 || keys.some((key) => key.length !== 32)) throw new SecretBoxError('secret keys must be 32 bytes');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]));
  const current = keys[0]!;
  const currentKeyId = keyIdOf(current);
  return {
    currentKeyId,
    deriveKey: (purpose) => Buffer.from(hkdfSync('sha256', current, Buffer.alloc(0), purpose, 32)),
    seal(plaintext, associatedData) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, currentKeyId, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, associatedData) {
      const [version, keyId, iv, ciphertext, tag, extra] = sealed.split('.');
      if (version !== VERSION || !keyId || iv === undefined || ciphertext === undefined || !tag || extra !== undefined) {
        throw new SecretBoxError('not a sealed secret');
      }
      const key = byId.get(keyId);
      // The operator removed the key from SECRETS_KEY_PREVIOUS before every value was sealed again.
      if (!key) throw new SecretBoxError(`sealed with an unknown key (${keyId})`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(associatedData, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('the sealed secret does not open (altered, or sealed for another place)');
      }
    },
  };
}

/**
 * The keys from SECRETS_KEY (and SECRETS_KEY_PREVIOUS); outside production, without them, a key
 * generated once and kept in dataDir, like the token signing key. Production refuses to start
 * without SECRETS_KEY: a key on a node's disk would be lost with the node, and the secrets with it.
 */
export async function loadSecretBox(options: { keys: readonly string[]; environment: string; dataDir: string }): Promise<SecretBox> {
  if (options.keys.length > 0) return createSecretBox(options.keys.map((key) => Buffer.from(key, 'base64')));
  if (options.environment === 'production') throw new Error('SECRETS_KEY is required in production');
  const file = path.join(options.dataDir, KEY_FILE);
  let key: Buffer;
  try {
    key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64');
  } catch {
    key = randomBytes(32);
    await fs.mkdir(options.dataDir, { recursive: true });
    await fs.writeFile(file, key.toString('base64'), { mode: 0o600 });
  }
  return createSecretBox([key]);
}
