import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id; the package's const enum cannot be imported under isolated modules.
const ARGON2ID = 2;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verifies; with no stored hash it verifies against a decoy, so unknown accounts take as long. */
  verify(stored: string | null, password: string): Promise<boolean>;
}

export async function createPasswordHasher(params: { memoryCost: number; timeCost: number; parallelism: number }): Promise<PasswordHasher> {
  const options = { algorithm: ARGON2ID, ...params };
  const decoy = await hash('decoy password that matches nothing', options);
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        const matched = await verify(stored ?? decoy, password);
        return stored !== null && matched;
      } catch {
        return false;
      }
    },
  };
}
