// `npm run verify-audit` as an operator runs it: a separate process on the configured database,
// exit 0 when every chain is intact, 1 naming the broken event when one is not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openAuditChain, recordAudit } from '../src/kernel/audit/audit.ts';
import { loadCheckpointSigner, parseCheckpoints, signCheckpoints } from '../src/kernel/audit/checkpoints.ts';
import type { RequestContext } from '../src/kernel/context.ts';
import type { Database } from '../src/kernel/db/database.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { createLogger } from '../src/kernel/log.ts';
import { openDatabase } from '../src/start.ts';
import { createTestDatabase, cutAuditTail } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const TIMEOUT_MS = 120_000;

interface CliResult {
  code: number | null;
  output: string;
}

describe('verify-audit command', { timeout: TIMEOUT_MS * 3 }, () => {
  let dataDir: string;
  /** On PostgreSQL: the test database, kept open (the command connects beside it). */
  let server: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let tenantId: string;

  /**
   * Runs fn on the database the command will verify. The embedded database allows one process at
   * a time, so there it is opened for fn and closed before the command runs.
   */
  async function onDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (server) return fn(server.db);
    const db = await openDatabase(loadConfig({ ENVIRONMENT: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  function runCommand(...args: string[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/cli/verify-audit.ts', ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          ENVIRONMENT: 'test',
          LOG_LEVEL: 'silent',
          DATA_DIR: dataDir,
          DATABASE_URL: server?.url ?? '',
          MIGRATION_DATABASE_URL: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const timer = setTimeout(() => child.kill(), TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsv-verify-audit-'));
    if (process.env.DATABASE_URL) server = await createTestDatabase();
    // A tenant with its own chain and a few events in both chains, written as the services do.
    const ctx: RequestContext = { correlationId: randomUUID(), ip: null, userAgent: 'verify-audit test', actor: null, reach: 'all', log: createLogger('silent') };
    tenantId = await onDatabase((db) =>
      db.withPlatform(async (tx, transaction) => {
        const tenant = await tx.insertInto('tenants').values({ name: 'Audited', slug: 'audited', region: 'EU' }).returning('id').executeTakeFirstOrThrow();
        await recordAudit(tx, ctx, { tenantId: null, action: 'tenant.created', resourceType: 'tenant', resourceId: tenant.id });
        await transaction.continueInTenant(tenant.id);
        await openAuditChain(tx, tenant.id);
        for (const action of ['tenant.created', 'customer.created', 'customer.updated'] as const) {
          await recordAudit(tx, ctx, { tenantId: tenant.id, action, resourceType: 'tenant', resourceId: tenant.id, metadata: { step: action } });
        }
        return tenant.id;
      }),
    );
  });
  after(async () => {
    await server?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('intact chains: exit 0 and a summary of chains and events', async () => {
    const result = await runCommand();
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Audit chains: 2, events: 4/);
    assert.match(result.output, /OK/);
  });

  test('bad arguments, or a checkpoint file holding none: exit 2', async () => {
    const empty = path.join(dataDir, 'empty.ndjson');
    await fs.writeFile(empty, '{"level":30,"msg":"listening"}\n');
    for (const args of [['--unknown'], ['--checkpoints'], ['--checkpoints', empty], ['--checkpoints', path.join(dataDir, 'missing.ndjson')]]) {
      const result = await runCommand(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.output}`);
    }
  });

  test('signed checkpoints: exported as NDJSON; a cut tail with a rewound head is found from the rows, and from the export or the log once the rows are gone too', async () => {
    const config = loadConfig({ ENVIRONMENT: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const logLines: string[] = [];
    const signed = await onDatabase(async (db) => signCheckpoints(db, await loadCheckpointSigner(config), createLogger('info', { write: (line: string) => void logLines.push(line) })));
    assert.equal(signed.length, 2);
    const exportFile = path.join(dataDir, 'checkpoints.ndjson');
    const logFile = path.join(dataDir, 'worker.log');
    await fs.writeFile(logFile, [JSON.stringify({ level: 30, msg: 'listening' }), ...logLines].join(''));

    const exported = await runCommand('--export-checkpoints', exportFile);
    assert.equal(exported.code, 0, exported.output);
    assert.match(exported.output, /Exported 2 checkpoints/);
    assert.match(exported.output, /Audit chains: 2, events: 4, checkpoints: 2/);
    const lines = (await fs.readFile(exportFile, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(parseCheckpoints(lines.join('\n')).sort((a, b) => a.chain_id.localeCompare(b.chain_id)), [...signed].sort((a, b) => a.chain_id.localeCompare(b.chain_id)));

    // The attack: the tenant's last event deleted and its head rewound, as the owner.
    const { removed, checkpointRows } = await onDatabase(async (db) => ({
      removed: await cutAuditTail({ db }, tenantId, 1),
      checkpointRows: await db.owner.selectFrom('audit_checkpoints').selectAll().execute(),
    }));
    const fromRows = await runCommand();
    assert.equal(fromRows.code, 1, fromRows.output);
    const cutLine = (output: string) => output.split('\n').find((l) => l.includes(tenantId)) ?? '';
    assert.ok(cutLine(fromRows.output).includes('seq 3') && cutLine(fromRows.output).includes('tail-cut'), fromRows.output);

    // And the checkpoint rows deleted too: the database alone no longer tells, the copies do.
    await onDatabase(async (db) => {
      await sql`alter table audit_checkpoints disable trigger user`.execute(db.owner);
      await db.owner.deleteFrom('audit_checkpoints').execute();
      await sql`alter table audit_checkpoints enable trigger user`.execute(db.owner);
    });
    assert.equal((await runCommand()).code, 0);
    for (const file of [exportFile, logFile]) {
      const result = await runCommand('--checkpoints', file);
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /BROKEN: 1 of 2 chains/);
      assert.ok(cutLine(result.output).includes('seq 3') && cutLine(result.output).includes('tail-cut') && cutLine(result.output).includes('tenant audited'), result.output);
    }

    // Undone, for the next test.
    await onDatabase(async (db) => {
      for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) await sql`alter table ${sql.table(table)} disable trigger user`.execute(db.owner);
      await db.owner.insertInto('audit_events').values(removed.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata) }))).execute();
      await db.owner.updateTable('audit_chain_heads').set({ seq: removed.at(-1)!.seq, last_hash: removed.at(-1)!.hash }).where('chain_id', '=', tenantId).execute();
      await db.owner.insertInto('audit_checkpoints').values(checkpointRows).execute();
      for (const table of ['audit_events', 'audit_chain_heads', 'audit_checkpoints']) await sql`alter table ${sql.table(table)} enable trigger user`.execute(db.owner);
    });
    const restored = await runCommand('--checkpoints', exportFile);
    assert.equal(restored.code, 0, restored.output);
  });

  test('a tampered event: exit 1, and the output names the chain, seq, event id and reason', async () => {
    const target = await onDatabase(async (db) => {
      const event = await db.owner.selectFrom('audit_events').select(['id', 'seq']).where('chain_id', '=', tenantId).where('seq', '=', 2).executeTakeFirstOrThrow();
      // Rewriting history needs the append-only trigger switched off first.
      await sql`alter table audit_events disable trigger audit_events_no_update`.execute(db.owner);
      await db.owner.updateTable('audit_events').set({ action: 'customer.deleted' }).where('id', '=', event.id).execute();
      await sql`alter table audit_events enable trigger audit_events_no_update`.execute(db.owner);
      return event;
    });
    const result = await runCommand();
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /BROKEN: 1 of 2 chains/);
    const line = result.output.split('\n').find((l) => l.includes(target.id));
    assert.ok(line, `the output does not name the event ${target.id}:\n${result.output}`);
    assert.ok(line.includes(tenantId) && line.includes('seq 2') && line.includes('hash-mismatch'), line);
  });
});
