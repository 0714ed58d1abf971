import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, RawResult } from './database.ts';

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
// Any number, the same on every node: only one of them migrates at a time.
const MIGRATION_LOCK = 7_316_204;

export interface MigrationFile {
  name: string;
  sql: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await fs.readdir(dir)).filter((name) => /^\d{14}_[a-z0-9_]+\.sql$/.test(name)).sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await fs.readFile(path.join(dir, name), 'utf8') })));
}

/**
 * Applies the pending forward-only migrations as the owner, each in its own transaction,
 * and records them. Safe to run from several nodes at once.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readMigrations(dir);
  return db.withOwnerSession(async (execute) => {
    await execute(`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await execute(`create table if not exists schema_migrations (
        name text primary key, applied_at timestamptz not null default now())`);
      const applied = new Set(rowsOf(await execute('select name from schema_migrations')).map((row) => String(row.name)));
      const pending = files.filter((file) => !applied.has(file.name));
      for (const file of pending) {
        try {
          await execute(`begin;\n${file.sql}\n;insert into schema_migrations (name) values ('${file.name}');\ncommit;`);
        } catch (error) {
          await execute('rollback').catch(() => undefined);
          throw new Error(`migration ${file.name} failed: ${(error as Error).message}`);
        }
      }
      return pending.map((file) => file.name);
    } finally {
      await execute(`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  });
}

function rowsOf(result: RawResult | RawResult[]) {
  return Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows;
}

export async function appliedMigrations(db: Database): Promise<string[]> {
  // Before the first migration there is no table yet: nothing is applied.
  const result = await db.ownerExecute('select name from schema_migrations order by name').catch(() => ({ rows: [] }));
  return rowsOf(result).map((row) => String(row.name));
}

/** True when every migration file has been applied (readiness). */
export async function migrationsCurrent(db: Database): Promise<boolean> {
  const [files, applied] = await Promise.all([readMigrations(), appliedMigrations(db)]);
  const done = new Set(applied);
  return files.every((file) => done.has(file.name));
}
