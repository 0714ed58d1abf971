// Signed checkpoints of the audit chain heads (FR-AUD-002, FR-LOG-001, CON-SEC-009). The attack
// they answer: with the owner's credentials, switch the triggers off, delete the last events of a
// chain and rewind its head. The chain alone then verifies; a checkpoint signed before the cut,
// stored or exported, does not let it.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql, type Selectable } from 'kysely';
import { auditPayload, chainHash, recordAudit } from '../src/kernel/audit/audit.ts';
import {
  createCheckpointSigner,
  loadCheckpointSigner,
  parseCheckpoints,
  signCheckpoints,
  storedCheckpoints,
  type Checkpoint,
  type CheckpointSigner,
} from '../src/kernel/audit/checkpoints.ts';
import type { Ed25519Jwk } from '../src/kernel/config.ts';
import type { RequestContext } from '../src/kernel/context.ts';
import type { AuditEventsTable } from '../src/kernel/db/schema.ts';
import { createLogger } from '../src/kernel/log.ts';
import { buildTestPlatform, cutAuditTail, type TestPlatform } from './helpers.ts';

type AuditRow = Selectable<AuditEventsTable>;

describe('signed audit checkpoints', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let signer: CheckpointSigner;
  const silent = createLogger('silent');
  const ctx = (): RequestContext => ({ correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: silent });

  const chainOf = (chainId: string) => t.db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute();
  const headOf = (chainId: string) => t.db.owner.selectFrom('audit_chain_heads').selectAll().where('chain_id', '=', chainId).executeTakeFirstOrThrow();
  const append = (tenantId: string, count = 1) =>
    t.db.withWholeTenant(tenantId, async (tx) => {
      for (let i = 0; i < count; i++) await recordAudit(tx, ctx(), { tenantId, action: 'customer.updated', resourceType: 'customer', metadata: { i } });
    });
  const allCheckpoints = async () => {
    const found: Checkpoint[] = [];
    for await (const checkpoint of storedCheckpoints(t.db)) found.push(checkpoint);
    return found;
  };

  /** Runs fn with every audit trigger off, as the owner (an intruder, or a test undoing one). */
  async function unguarded<T>(fn: () => Promise<T>): Promise<T> {
    for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) await sql`alter table ${sql.table(table)} disable trigger user`.execute(t.db.owner);
    try {
      return await fn();
    } finally {
      for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) await sql`alter table ${sql.table(table)} enable trigger user`.execute(t.db.owner);
    }
  }

  /** Puts cut events back and moves the head to the last of them. */
  async function restoreTail(chainId: string, removed: AuditRow[]) {
    await unguarded(async () => {
      await t.db.owner.insertInto('audit_events').values(removed.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata) }))).execute();
      const last = removed.at(-1)!;
      await t.db.owner.updateTable('audit_chain_heads').set({ seq: last.seq, last_hash: last.hash }).where('chain_id', '=', chainId).execute();
    });
    assert.deepEqual((await t.verifyAudit()).breaks, [], 'the tail was not restored');
  }

  before(async () => {
    // No worker: the tests sign when they choose, with the key the worker would use (DATA_DIR's).
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    signer = await loadCheckpointSigner(t.config);
    await append(acme, 5);
    await append(globex, 5);
  });
  after(() => t?.close());

  test('the attack: without a checkpoint past the cut, a cut tail with a rewound head verifies', async () => {
    assert.deepEqual(await allCheckpoints(), []);
    const removed = await cutAuditTail(t, acme, 2);
    try {
      assert.deepEqual((await t.verifyAudit()).breaks, [], 'the chain alone cannot tell');
    } finally {
      await restoreTail(acme, removed);
    }
  });

  test('signed chains verify: one checkpoint per chain with events, each checked', async () => {
    const signed = await signCheckpoints(t.db, signer, silent);
    const heads = await t.db.owner.selectFrom('audit_chain_heads').selectAll().where('seq', '>', 0).execute();
    assert.deepEqual(signed.map((c) => c.chain_id).sort(), heads.map((h) => h.chain_id).sort());
    for (const checkpoint of signed) {
      const head = heads.find((h) => h.chain_id === checkpoint.chain_id)!;
      assert.deepEqual([checkpoint.seq, checkpoint.last_hash, checkpoint.key_id], [head.seq, head.last_hash, signer.keyId]);
    }
    assert.deepEqual(await allCheckpoints(), [...signed].sort((a, b) => a.chain_id.localeCompare(b.chain_id)));
    const report = await t.verifyAudit();
    assert.deepEqual(report.breaks, []);
    assert.equal(report.checkpoints, signed.length);
  });

  test('stored checkpoints find the cut: tail-cut at the first removed event, and the rewound head is not signed again', async () => {
    const removed = await cutAuditTail(t, acme, 2);
    try {
      assert.deepEqual((await t.verifyAudit()).breaks, [{ chainId: acme, seq: removed[0]!.seq, eventId: null, reason: 'tail-cut' }]);
      // Appending again after the cut does not hide it: the checkpoint names the old event at its seq.
      assert.deepEqual(await signCheckpoints(t.db, signer, silent), []);
    } finally {
      await restoreTail(acme, removed);
    }
  });

  test('a cut that also deletes the checkpoint rows is found from an exported copy', async () => {
    const exported = (await allCheckpoints()).map((c) => JSON.stringify(c)).join('\n');
    const removed = await cutAuditTail(t, acme, 3);
    const checkpointRows = await t.db.owner.selectFrom('audit_checkpoints').selectAll().where('chain_id', '=', acme).execute();
    await unguarded(() => t.db.owner.deleteFrom('audit_checkpoints').where('chain_id', '=', acme).execute());
    try {
      assert.deepEqual((await t.verifyAudit()).breaks, [], 'the database alone no longer tells');
      const report = await t.verifyAudit({ external: parseCheckpoints(exported) });
      assert.deepEqual(report.breaks, [{ chainId: acme, seq: removed[0]!.seq, eventId: null, reason: 'tail-cut' }]);
    } finally {
      await unguarded(() => t.db.owner.insertInto('audit_checkpoints').values(checkpointRows).execute());
      await restoreTail(acme, removed);
    }
  });

  test('a chain whose head, events and checkpoints were all removed is still found from the copy', async () => {
    const exported = await allCheckpoints();
    const [events, head, checkpointRows] = await Promise.all([chainOf(globex), headOf(globex), t.db.owner.selectFrom('audit_checkpoints').selectAll().where('chain_id', '=', globex).execute()]);
    await unguarded(async () => {
      for (const table of ['audit_checkpoints', 'audit_events', 'audit_chain_heads'] as const) await t.db.owner.deleteFrom(table).where('chain_id', '=', globex).execute();
    });
    try {
      assert.deepEqual((await t.verifyAudit({ external: exported })).breaks, [{ chainId: globex, seq: 1, eventId: null, reason: 'tail-cut' }]);
    } finally {
      await unguarded(async () => {
        await t.db.owner.insertInto('audit_chain_heads').values(head).execute();
        await t.db.owner.insertInto('audit_events').values(events.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata) }))).execute();
        await t.db.owner.insertInto('audit_checkpoints').values(checkpointRows).execute();
      });
    }
    assert.deepEqual((await t.verifyAudit()).breaks, []);
  });

  test("the worker's log lines are a copy too: one info line per checkpoint, read back by the verifier", async () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    await append(globex);
    const signed = await signCheckpoints(t.db, signer, log);
    assert.equal(signed.length, 1);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.msg, 'audit checkpoint signed');
    assert.equal(logged[0]!.level, 30);
    // Any other log lines in the file are skipped.
    const logFile = [JSON.stringify({ level: 30, msg: 'listening' }), ...lines, 'not json'].join('\n');
    assert.deepEqual(parseCheckpoints(logFile), signed);
    assert.throws(() => parseCheckpoints(JSON.stringify({ ...signed[0], seq: 'one' })), /line 1 is not a complete checkpoint/);
  });

  test('a forged checkpoint is reported: another key, or a signed statement changed', async () => {
    const [first] = await chainOf(acme);
    const { privateKey } = generateKeyPairSync('ed25519');
    const intruder = await createCheckpointSigner(privateKey.export({ format: 'jwk' }) as Ed25519Jwk);
    const statement = { chain_id: acme, seq: first!.seq, last_hash: first!.hash, signed_at: new Date().toISOString() };
    const genuine = signer.sign(statement);
    const forgeries: Record<string, Checkpoint> = {
      'signed by another key': intruder.sign(statement),
      'another key claiming the real key id': { ...intruder.sign(statement), key_id: signer.keyId },
      'a changed hash': { ...genuine, last_hash: 'a'.repeat(64) },
      'a changed time': { ...genuine, signed_at: new Date(Date.now() - 86_400_000).toISOString() },
    };
    for (const [what, forged] of Object.entries(forgeries)) {
      // Stored (an intruder with the owner's credentials can write the table), or in an external file.
      const inserted = await t.db.owner.insertInto('audit_checkpoints').values({ ...forged, tenant_id: acme }).returning('id').executeTakeFirstOrThrow();
      try {
        assert.deepEqual((await t.verifyAudit()).breaks, [{ chainId: acme, seq: first!.seq, eventId: first!.id, reason: 'checkpoint-forged' }], what);
      } finally {
        await unguarded(() => t.db.owner.deleteFrom('audit_checkpoints').where('id', '=', inserted.id).execute());
      }
      assert.deepEqual((await t.verifyAudit({ external: [forged] })).breaks, [{ chainId: acme, seq: first!.seq, eventId: first!.id, reason: 'checkpoint-forged' }], what);
    }
    assert.deepEqual((await t.verifyAudit({ external: [genuine] })).breaks, []);
  });

  test('a chain rewritten consistently (hashes and head recomputed) contradicts its checkpoint: checkpoint-mismatch', async () => {
    const original = await chainOf(acme);
    const head = await headOf(acme);
    const [checkpoint] = (await allCheckpoints()).filter((c) => c.chain_id === acme);
    await unguarded(async () => {
      let prevHash = '';
      for (const row of original) {
        const rewritten = row.seq === 2 ? { ...row, action: 'customer.deleted' } : row;
        const hash = chainHash(prevHash, row.seq, auditPayload(rewritten));
        await t.db.owner.updateTable('audit_events').set({ action: rewritten.action, prev_hash: prevHash, hash }).where('id', '=', row.id).execute();
        prevHash = hash;
      }
      await t.db.owner.updateTable('audit_chain_heads').set({ last_hash: prevHash }).where('chain_id', '=', acme).execute();
    });
    try {
      const atCheckpoint = original.find((row) => row.seq === checkpoint!.seq)!;
      assert.deepEqual((await t.verifyAudit()).breaks, [{ chainId: acme, seq: checkpoint!.seq, eventId: atCheckpoint.id, reason: 'checkpoint-mismatch' }]);
    } finally {
      await unguarded(async () => {
        for (const row of original) await t.db.owner.updateTable('audit_events').set({ action: row.action, prev_hash: row.prev_hash, hash: row.hash }).where('id', '=', row.id).execute();
        await t.db.owner.updateTable('audit_chain_heads').set({ last_hash: head.last_hash }).where('chain_id', '=', acme).execute();
      });
    }
    assert.deepEqual((await t.verifyAudit()).breaks, []);
  });

  test('the checkpoint job signs only the heads that moved, and signs nothing twice when retried or run twice at once', async () => {
    await signCheckpoints(t.db, signer, silent);
    assert.deepEqual(await signCheckpoints(t.db, signer, silent), [], 'nothing moved');
    await append(acme, 2);
    const [first, second] = await Promise.all([signCheckpoints(t.db, signer, silent), signCheckpoints(t.db, signer, silent)]);
    const signed = [...first!, ...second!];
    assert.deepEqual(
      signed.map((c) => [c.chain_id, c.seq]),
      [[acme, (await headOf(acme)).seq]],
    );
    assert.deepEqual(await signCheckpoints(t.db, signer, silent), [], 'a retry signs nothing');
    const rows = await t.db.owner.selectFrom('audit_checkpoints').select(['chain_id', 'seq']).where('chain_id', '=', acme).orderBy('seq').execute();
    assert.equal(new Set(rows.map((row) => row.seq)).size, rows.length);
    assert.deepEqual((await t.verifyAudit()).breaks, []);
  });

  test('checkpoints are append-only for every role, and the app roles only read their own', async () => {
    const state = async (run: () => Promise<unknown>) => run().then(() => null, (error: { code?: string }) => error.code ?? 'error');
    assert.equal(await state(() => t.db.owner.updateTable('audit_checkpoints').set({ seq: 1 }).where('chain_id', '=', acme).execute()), '42501');
    assert.equal(await state(() => t.db.owner.deleteFrom('audit_checkpoints').where('chain_id', '=', acme).execute()), '42501');
    assert.equal(await state(() => sql`truncate audit_checkpoints`.execute(t.db.owner)), '42501');
    const [checkpoint] = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('audit_checkpoints').selectAll().execute());
    assert.ok(checkpoint);
    const seen = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('audit_checkpoints').select('chain_id').distinct().execute());
    assert.deepEqual(seen, [{ chain_id: acme }]);
    const write = { ...checkpoint, id: randomUUID(), seq: checkpoint.seq + 1000 };
    assert.equal(await state(() => t.db.withWholeTenant(acme, (tx) => tx.insertInto('audit_checkpoints').values(write).execute())), '42501');
    assert.equal(await state(() => t.db.withPlatform((tx) => tx.insertInto('audit_checkpoints').values({ ...write, tenant_id: null }).execute())), '42501');
  });
});
