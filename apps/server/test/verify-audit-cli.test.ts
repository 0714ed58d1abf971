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
import type { RequestContext } from '../src/kernel/context.ts';
import { enterTenantContext, type Database } from '../src/kernel/db/database.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { createLogger } from '../src/kernel/log.ts';
import { openDatabase } from '../src/start.ts';
import { createTestDatabase } from './helpers.ts';

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

  function runCommand(): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/cli/verify-audit.ts'], {
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
      db.withPlatform(async (tx) => {
        const tenant = await tx.insertInto('tenants').values({ name: 'Audited', slug: 'audited', region: 'EU' }).returning('id').executeTakeFirstOrThrow();
        await recordAudit(tx, ctx, { tenantId: null, action: 'tenant.created', resourceType: 'tenant', resourceId: tenant.id });
        await enterTenantContext(tx, tenant.id);
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
