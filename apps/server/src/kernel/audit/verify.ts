import type { Database } from '../db/database.ts';
import { auditPayload, chainHash } from './audit.ts';

export interface ChainBreak {
  chainId: string;
  seq: number;
  eventId: string | null;
  reason: 'hash-mismatch' | 'prev-hash-mismatch' | 'sequence-gap' | 'head-mismatch';
}

export interface VerificationReport {
  ok: boolean;
  chains: number;
  events: number;
  /** The first broken link of each broken chain. */
  breaks: ChainBreak[];
}

const PAGE = 1000;

/**
 * Recomputes every chain from the stored columns, in pages (bounded memory), and names the first
 * broken link of each chain: a changed field, a removed or reordered event, or a cut-off tail.
 * Runs on the owner connection, since it must see every tenant's chain.
 */
export async function verifyAuditChains(db: Database): Promise<VerificationReport> {
  const heads = await db.owner.selectFrom('audit_chain_heads').selectAll().orderBy('chain_id').execute();
  const breaks: ChainBreak[] = [];
  let events = 0;
  for (const head of heads) {
    let expectedSeq = 1;
    let prevHash = '';
    let broken: ChainBreak | null = null;
    for (let afterSeq = 0; !broken; ) {
      const rows = await db.owner
        .selectFrom('audit_events')
        .selectAll()
        .where('chain_id', '=', head.chain_id)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(PAGE)
        .execute();
      for (const row of rows) {
        events += 1;
        const at = { chainId: head.chain_id, seq: row.seq, eventId: row.id };
        if (row.seq !== expectedSeq) broken = { ...at, reason: 'sequence-gap' };
        else if (row.prev_hash !== prevHash) broken = { ...at, reason: 'prev-hash-mismatch' };
        else if (row.hash !== chainHash(prevHash, row.seq, auditPayload(row))) broken = { ...at, reason: 'hash-mismatch' };
        if (broken) break;
        prevHash = row.hash;
        expectedSeq += 1;
      }
      if (rows.length < PAGE) break;
      afterSeq = rows.at(-1)!.seq;
    }
    if (!broken && (head.seq !== expectedSeq - 1 || head.last_hash !== prevHash)) {
      broken = { chainId: head.chain_id, seq: expectedSeq, eventId: null, reason: 'head-mismatch' };
    }
    if (broken) breaks.push(broken);
  }
  return { ok: breaks.length === 0, chains: heads.length, events, breaks };
}
