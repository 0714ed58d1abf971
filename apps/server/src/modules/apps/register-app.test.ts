// `npm run app:register` as an operator runs it: a separate process on the configured database.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../kernel/config.ts';
import type { Database } from '../../kernel/db/database.ts';
import { openDatabase } from '../../start.ts';
import { createTestDatabase } from '../../../test/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../../..');
const TIMEOUT_MS = 120_000;

describe('app:register command (FR-SYS-001, FR-SYS-002)', { timeout: TIMEOUT_MS * 4 }, () => {
  let dataDir: string;
  /** On PostgreSQL: the test database, kept open (the command connects beside it). */
  let server: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  /** The embedded database allows one process at a time: there it is opened for fn only. */
  async function onDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (server) return fn(server.db);
    const db = await openDatabase(loadConfig({ ENVIRONMENT: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/cli/register-app.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, ENVIRONMENT: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, DATABASE_URL: server?.url ?? '', MIGRATION_DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsv-app-register-'));
    if (process.env.DATABASE_URL) server = await createTestDatabase();
  });
  after(async () => {
    await server?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('registers through the service, audited, and prints the application id and the key once', async () => {
    const result = await run(['--name', 'Invoicing', '--environment', 'production', '--owner', 'Billing@Example.com', '--scopes', 'flags:read,billing:write']);
    assert.equal(result.code, 0, result.stderr);
    const id = /Application registered: ([0-9a-f-]{36})/.exec(result.stdout)?.[1];
    const secret = /^(tsv_app_[a-z0-9]{12}_[A-Za-z0-9_-]{43})$/m.exec(result.stdout)?.[1];
    assert.ok(id && secret, result.stdout);

    await onDatabase(async (db) => {
      const app = await db.owner.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual([app.name, app.environment, app.owner, app.status], ['Invoicing', 'production', 'billing@example.com', 'active']);
      const key = await db.owner.selectFrom('application_keys').selectAll().where('app_id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(key.scopes, ['flags:read', 'billing:write']);
      assert.equal(key.tenant_ids, null);
      assert.equal(key.secret_hash, createHash('sha256').update(secret.split('_').slice(3).join('_')).digest('hex'));
      const audit = await db.owner.selectFrom('audit_events').select(['action', 'actor_type', 'tenant_id']).where('resource_id', 'in', [id, key.id]).orderBy('seq').execute();
      assert.deepEqual(audit, [
        { action: 'application.registered', actor_type: 'system', tenant_id: null },
        { action: 'application.key_issued', actor_type: 'system', tenant_id: null },
      ]);
    });
  });

  test('bad arguments exit 64 naming the option, and register nothing', async () => {
    const count = () => onDatabase(async (db) => (await db.owner.selectFrom('applications').select('id').execute()).length);
    const before = await count();
    for (const args of [
      ['--name', 'X', '--environment', 'prod', '--owner', 'a@b.co'],
      ['--name', 'X', '--environment', 'staging', '--owner', 'nobody'],
      ['--name', 'X', '--environment', 'staging', '--owner', 'a@b.co', '--scopes', 'billing:admin'],
      ['--environment', 'staging', '--owner', 'a@b.co'],
      ['--name', 'X', '--environment', 'staging', '--owner', 'a@b.co', '--colour', 'red'],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 64, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /Usage: npm run app:register/);
    }
    assert.match((await run(['--name', 'X', '--environment', 'prod', '--owner', 'a@b.co'])).stderr, /--environment/);
    // A tenant that does not exist fails the whole registration: no application without its key.
    const unknownTenant = await run(['--name', 'X', '--environment', 'staging', '--owner', 'a@b.co', '--tenant', '00000000-0000-4000-8000-000000000000']);
    assert.equal(unknownTenant.code, 2, unknownTenant.stderr);
    assert.match(unknownTenant.stderr, /names no tenant/);
    assert.equal(await count(), before);
  });
});
