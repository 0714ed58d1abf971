import type { Database } from '../db/database.ts';
import { auditPayload, chainHash } from './audit.ts';
import { checkpointOf, type Checkpoint, type CheckpointKeys } from './checkpoints.ts';

export interface ChainBreak {
  chainId: string;
  seq: number;
  eventId: string | null;
  reason:
    | 'hash-mismatch'
    | 'prev-hash-mismatch'
    | 'sequence-gap'
    | 'head-mismatch'
    // A checkpoint whose signature does not verify under any accepted key (or names an unknown key).
    | 'checkpoint-forged'
    // A signed checkpoint names a seq past the chain's last event: the events from `seq` on are gone.
    | 'tail-cut'
    // The event at a signed checkpoint's seq has another hash: the chain was rewritten up to there.
    | 'checkpoint-mismatch';
}

export interface VerificationReport {
  ok: boolean;
  chains: number;
  events: number;
  /** Checkpoints checked against their chains (stored and external, each distinct one once). */
  checkpoints: number;
  /** The first broken link of each broken chain. */
  breaks: ChainBreak[];
}

export interface VerifyOptions {
  /** The public keys checkpoints must be signed with (loadCheckpointKeys). */
  keys: CheckpointKeys;
  /**
   * Checkpoints kept outside the database (an export, the worker's log lines): checked like the
   * stored ones, so a tail cut together with the checkpoint rows is still found.
   */
  external?: readonly Checkpoint[];
}

const PAGE = 1000;

/** A chain's checkpoints in seq order, a checkpoint present both stored and external counted once. */
function mergeCheckpoints(stored: Checkpoint[], external: readonly Checkpoint[]): Checkpoint[] {
  const byIdentity = new Map<string, Checkpoint>();
  for (const checkpoint of [...stored, ...external]) byIdentity.set(`${checkpoint.seq}/${checkpoint.key_id}/${checkpoint.signature}`, checkpoint);
  return [...byIdentity.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * Recomputes every chain from the stored columns, in pages (bounded memory), and names the first
 * broken link of each chain: a changed field, a removed or reordered event, a cut-off tail or a
 * rewound head that a signed checkpoint contradicts, or a forged checkpoint. Runs on the owner
 * connection, since it must see every tenant's chain. The chains are those with a head, a stored
 * checkpoint or an external one: a chain whose head was removed is still checked.
 */
export async function verifyAuditChains(db: Database, options: VerifyOptions): Promise<VerificationReport> {
  const heads = new Map((await db.owner.selectFrom('audit_chain_heads').selectAll().execute()).map((head) => [head.chain_id, head]));
  const externalByChain = new Map<string, Checkpoint[]>();
  for (const checkpoint of options.external ?? []) externalByChain.set(checkpoint.chain_id, [...(externalByChain.get(checkpoint.chain_id) ?? []), checkpoint]);
  const checkpointed = await db.owner.selectFrom('audit_checkpoints').select('chain_id').distinct().execute();
  const chainIds = [...new Set([...heads.keys(), ...checkpointed.map((row) => row.chain_id), ...externalByChain.keys()])].sort();

  const breaks: ChainBreak[] = [];
  let events = 0;
  let checkpointCount = 0;
  for (const chainId of chainIds) {
    const stored = (await db.owner.selectFrom('audit_checkpoints').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute()).map(checkpointOf);
    const checkpoints = mergeCheckpoints(stored, externalByChain.get(chainId) ?? []);
    checkpointCount += checkpoints.length;
    // The events at the checkpoints' positions, found on the way.
    const wanted = new Set(checkpoints.map((checkpoint) => checkpoint.seq));
    const atCheckpoint = new Map<number, { id: string; hash: string }>();

    let expectedSeq = 1;
    let prevHash = '';
    let broken: ChainBreak | null = null;
    for (let afterSeq = 0; !broken; ) {
      const rows = await db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).where('seq', '>', afterSeq).orderBy('seq').limit(PAGE).execute();
      for (const row of rows) {
        events += 1;
        const at = { chainId, seq: row.seq, eventId: row.id };
        if (row.seq !== expectedSeq) broken = { ...at, reason: 'sequence-gap' };
        else if (row.prev_hash !== prevHash) broken = { ...at, reason: 'prev-hash-mismatch' };
        else if (row.hash !== chainHash(prevHash, row.seq, auditPayload(row))) broken = { ...at, reason: 'hash-mismatch' };
        if (broken) break;
        if (wanted.has(row.seq)) atCheckpoint.set(row.seq, { id: row.id, hash: row.hash });
        prevHash = row.hash;
        expectedSeq += 1;
      }
      if (rows.length < PAGE) break;
      afterSeq = rows.at(-1)!.seq;
    }
    const lastSeq = expectedSeq - 1;

    // The first checkpoint before the first broken event that the chain contradicts.
    let contradicted: ChainBreak | null = null;
    for (const checkpoint of checkpoints) {
      if (broken && checkpoint.seq >= broken.seq) break;
      const event = atCheckpoint.get(checkpoint.seq);
      if (!options.keys.verify(checkpoint)) contradicted = { chainId, seq: checkpoint.seq, eventId: event?.id ?? null, reason: 'checkpoint-forged' };
      else if (checkpoint.seq > lastSeq) contradicted = { chainId, seq: lastSeq + 1, eventId: null, reason: 'tail-cut' };
      else if (event!.hash !== checkpoint.last_hash) contradicted = { chainId, seq: checkpoint.seq, eventId: event!.id, reason: 'checkpoint-mismatch' };
      if (contradicted) break;
    }

    // A cut tail named by a checkpoint is reported as such rather than as the head's mismatch.
    const head = heads.get(chainId) ?? { seq: 0, last_hash: '' };
    const headBroken: ChainBreak | null =
      !broken && (head.seq !== lastSeq || head.last_hash !== prevHash) ? { chainId, seq: expectedSeq, eventId: null, reason: 'head-mismatch' } : null;
    const first = [broken, contradicted, headBroken].filter((b): b is ChainBreak => b !== null).sort((a, b) => a.seq - b.seq)[0];
    if (first) breaks.push(first);
  }
  return { ok: breaks.length === 0, chains: chainIds.length, events, checkpoints: checkpointCount, breaks };
}
