import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { ConfigError, type Config, type Ed25519Jwk } from '../config.ts';
import { isUuid, type Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { canonicalJson } from './audit.ts';

/**
 * A signed checkpoint (FR-AUD-002): the chain `chain_id` had `seq` events, the last with hash
 * `last_hash`, at `signed_at`. This is also the export and log format (one JSON object a line).
 * Someone holding the owner's credentials can cut a chain's tail and rewind its head consistently;
 * a checkpoint signed before the cut, with a key the database never holds, still names the lost
 * events, and a copy outside the database survives the checkpoint rows being deleted too.
 */
export interface Checkpoint {
  chain_id: string;
  seq: number;
  last_hash: string;
  /** ISO 8601 in UTC with milliseconds. */
  signed_at: string;
  /** The RFC 7638 thumbprint of the signing key's public half. */
  key_id: string;
  /** Ed25519 over checkpointMessage(), base64url. */
  signature: string;
}

export type CheckpointStatement = Pick<Checkpoint, 'chain_id' | 'seq' | 'last_hash' | 'signed_at'>;

/** The bytes a checkpoint signs: its statement, under a purpose of its own (never a token's). */
export function checkpointMessage(statement: CheckpointStatement): Buffer {
  return Buffer.from(
    canonicalJson({
      purpose: 'tsv-audit-checkpoint.v1',
      chain_id: statement.chain_id,
      seq: statement.seq,
      last_hash: statement.last_hash,
      signed_at: new Date(statement.signed_at).toISOString(),
    }),
    'utf8',
  );
}

export interface CheckpointSigner {
  readonly keyId: string;
  readonly publicJwk: Ed25519Jwk;
  sign(statement: CheckpointStatement): Checkpoint;
}

/** The public keys the verifier accepts checkpoints from, by key id. */
export interface CheckpointKeys {
  readonly keyIds: readonly string[];
  /** True when the checkpoint's signature verifies under the key its key_id names. */
  verify(checkpoint: Checkpoint): boolean;
}

const publicHalf = (jwk: Ed25519Jwk): Ed25519Jwk => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });

const keyIdOf = (jwk: Ed25519Jwk) => calculateJwkThumbprint(publicHalf(jwk), 'sha256');

export async function createCheckpointSigner(privateJwk: Ed25519Jwk): Promise<CheckpointSigner> {
  const key = createPrivateKey({ key: { ...privateJwk }, format: 'jwk' });
  const keyId = await keyIdOf(privateJwk);
  return {
    keyId,
    publicJwk: publicHalf(privateJwk),
    sign(statement) {
      const signedAt = new Date(statement.signed_at).toISOString();
      const signature = sign(null, checkpointMessage({ ...statement, signed_at: signedAt }), key).toString('base64url');
      return { chain_id: statement.chain_id, seq: statement.seq, last_hash: statement.last_hash, signed_at: signedAt, key_id: keyId, signature };
    },
  };
}

export async function createCheckpointKeys(publicJwks: readonly Ed25519Jwk[]): Promise<CheckpointKeys> {
  const byId = new Map<string, KeyObject>();
  for (const jwk of publicJwks) byId.set(await keyIdOf(jwk), createPublicKey({ key: { ...publicHalf(jwk) }, format: 'jwk' }));
  return {
    keyIds: [...byId.keys()],
    verify(checkpoint) {
      const key = byId.get(checkpoint.key_id);
      if (!key) return false;
      try {
        return verify(null, checkpointMessage(checkpoint), key, Buffer.from(checkpoint.signature, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

/** Where a generated key is kept outside production, like the token signing key. */
const KEY_FILE = 'audit-checkpoint-key.json';

type KeyConfig = Pick<Config, 'environment' | 'dataDir' | 'auditCheckpointKey' | 'auditCheckpointPublicKeys'>;

async function readKeyFile(dataDir: string): Promise<Ed25519Jwk | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dataDir, KEY_FILE), 'utf8')) as Ed25519Jwk;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`the audit checkpoint key in ${path.join(dataDir, KEY_FILE)} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * The worker's signing key: AUDIT_CHECKPOINT_KEY; outside production without it, a key generated
 * on first start and kept in dataDir, so `npm start` needs no configuration. An unreadable key
 * file stops the worker rather than being replaced: its key verifies the checkpoints signed so far.
 */
export async function loadCheckpointSigner(config: KeyConfig): Promise<CheckpointSigner> {
  if (config.auditCheckpointKey) return createCheckpointSigner(config.auditCheckpointKey);
  if (config.environment === 'production') throw new ConfigError('AUDIT_CHECKPOINT_KEY', 'is required in production for the worker');
  const existing = await readKeyFile(config.dataDir);
  if (existing) return createCheckpointSigner(existing);
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as Ed25519Jwk;
  await fs.mkdir(config.dataDir, { recursive: true });
  try {
    await fs.writeFile(path.join(config.dataDir, KEY_FILE), JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process of this data directory wrote one first: sign with that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return createCheckpointSigner((await readKeyFile(config.dataDir))!);
    throw error;
  }
  return createCheckpointSigner(jwk);
}

/**
 * The keys checkpoints are verified with: AUDIT_CHECKPOINT_PUBLIC_KEY (the current key and the
 * keys rotated out), the public half of AUDIT_CHECKPOINT_KEY when this process has it, and outside
 * production the key generated in dataDir, if any (never generated here). In production a verifier
 * without any key would pass every forged checkpoint as unknown: it refuses to run instead.
 */
export async function loadCheckpointKeys(config: KeyConfig, signer?: CheckpointSigner): Promise<CheckpointKeys> {
  const keys = [...config.auditCheckpointPublicKeys];
  if (signer) keys.push(signer.publicJwk);
  if (config.auditCheckpointKey) keys.push(config.auditCheckpointKey);
  if (config.environment !== 'production' && !config.auditCheckpointKey) {
    const generated = await readKeyFile(config.dataDir);
    if (generated) keys.push(generated);
  }
  if (keys.length === 0 && config.environment === 'production') {
    throw new ConfigError('AUDIT_CHECKPOINT_PUBLIC_KEY', 'is required in production to verify the audit checkpoints (or AUDIT_CHECKPOINT_KEY)');
  }
  return createCheckpointKeys(keys);
}

const PAGE = 500;

/**
 * FR-AUD-002: signs every chain head that moved past its last checkpoint, stores the checkpoints
 * and writes each one to the log (a copy outside the database). A head behind its last checkpoint
 * (a rewound chain) is not signed again: the verifier reports it. Safe to repeat: a head already
 * signed at its seq is skipped, and a checkpoint written meanwhile by another worker wins.
 * CAUTION: spans every tenant's chain on the owner connection; the app roles cannot touch
 * checkpoints at all.
 */
export async function signCheckpoints(db: Database, signer: CheckpointSigner, log: Logger, now: () => Date = () => new Date()): Promise<Checkpoint[]> {
  const signed: Checkpoint[] = [];
  for (let after: string | null = null; ; ) {
    const heads = await db.owner
      .selectFrom('audit_chain_heads as h')
      .select(['h.chain_id', 'h.tenant_id', 'h.seq', 'h.last_hash'])
      .where('h.seq', '>', (eb) =>
        eb.fn.coalesce(eb.selectFrom('audit_checkpoints as c').select((c) => c.fn.max('c.seq').as('seq')).whereRef('c.chain_id', '=', 'h.chain_id'), eb.lit(0)),
      )
      .$if(after !== null, (q) => q.where('h.chain_id', '>', after!))
      .orderBy('h.chain_id')
      .limit(PAGE)
      .execute();
    if (heads.length === 0) break;
    const signedAt = now().toISOString();
    const rows = heads.map((head) => ({ ...signer.sign({ chain_id: head.chain_id, seq: head.seq, last_hash: head.last_hash, signed_at: signedAt }), tenant_id: head.tenant_id }));
    const inserted = await db.owner
      .insertInto('audit_checkpoints')
      .values(rows)
      .onConflict((oc) => oc.columns(['chain_id', 'seq']).doNothing())
      .returning(['chain_id', 'seq'])
      .execute();
    const stored = new Set(inserted.map((row) => `${row.chain_id}/${row.seq}`));
    for (const { tenant_id: _tenant, ...checkpoint } of rows) {
      if (!stored.has(`${checkpoint.chain_id}/${checkpoint.seq}`)) continue;
      // The exported copy: one line per checkpoint, in the format verify-audit --checkpoints reads.
      log.info(checkpoint, 'audit checkpoint signed');
      signed.push(checkpoint);
    }
    if (heads.length < PAGE) break;
    after = heads.at(-1)!.chain_id;
  }
  return signed;
}

/** A stored checkpoint row in the export format. */
export function checkpointOf(row: { chain_id: string; seq: number; last_hash: string; signed_at: Date | string; key_id: string; signature: string }): Checkpoint {
  return {
    chain_id: row.chain_id,
    seq: Number(row.seq),
    last_hash: row.last_hash,
    signed_at: new Date(row.signed_at).toISOString(),
    key_id: row.key_id,
    signature: row.signature,
  };
}

/** Every stored checkpoint in (chain, seq) order, read in pages. CAUTION: the owner connection. */
export async function* storedCheckpoints(db: Database): AsyncGenerator<Checkpoint> {
  for (let after: { chainId: string; seq: number } | null = null; ; ) {
    const rows = await db.owner
      .selectFrom('audit_checkpoints')
      .select(['chain_id', 'seq', 'last_hash', 'signed_at', 'key_id', 'signature'])
      .$if(after !== null, (q) => q.where((eb) => eb.or([eb('chain_id', '>', after!.chainId), eb.and([eb('chain_id', '=', after!.chainId), eb('seq', '>', after!.seq)])])))
      .orderBy('chain_id')
      .orderBy('seq')
      .limit(1000)
      .execute();
    for (const row of rows) yield checkpointOf(row);
    if (rows.length < 1000) return;
    after = { chainId: rows.at(-1)!.chain_id, seq: Number(rows.at(-1)!.seq) };
  }
}

export class CheckpointFileError extends Error {}

const HASH = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads checkpoints from NDJSON: the export of `verify-audit --export-checkpoints`, or log lines
 * (the worker's 'audit checkpoint signed' lines among any others). A line naming a chain_id and a
 * signature is a checkpoint and must be a whole one; every other line is skipped.
 */
export function parseCheckpoints(text: string): Checkpoint[] {
  const checkpoints: Checkpoint[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) return;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return;
    }
    if (value === null || typeof value !== 'object' || !('chain_id' in value) || !('signature' in value)) return;
    const { chain_id, seq, last_hash, signed_at, key_id, signature } = value;
    const valid =
      isUuid(chain_id) &&
      typeof seq === 'number' &&
      Number.isSafeInteger(seq) &&
      seq > 0 &&
      typeof last_hash === 'string' &&
      HASH.test(last_hash) &&
      typeof signed_at === 'string' &&
      ISO_TIME.test(signed_at) &&
      !Number.isNaN(Date.parse(signed_at)) &&
      typeof key_id === 'string' &&
      key_id.length > 0 &&
      typeof signature === 'string' &&
      signature.length > 0;
    if (!valid) throw new CheckpointFileError(`line ${index + 1} is not a complete checkpoint (chain_id, seq, last_hash, signed_at, key_id, signature)`);
    checkpoints.push({ chain_id: chain_id.toLowerCase(), seq, last_hash, signed_at, key_id, signature });
  });
  return checkpoints;
}
