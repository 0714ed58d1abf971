// DESIGN.md rule 3 (CON-ARCH-002): one way into a tenant's data. Requests use db.withTenant(ctx)
// with the caller's context; every unit of a tenant is db.withWholeTenant(tenantId), a platform
// action that continues in a tenant says so with continueInTenant; the owner connection, which RLS
// does not bind, is the kernel's bookkeeping's alone. Derived from the source text, so a module that
// sets the tenant or the role itself, or reaches for the owner connection, fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.includes('test-') ? [full] : [];
  });
}

const FILES = sourceFiles(SRC).map((file) => ({
  name: path.relative(SRC, file),
  code: fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1'),
}));

/** Files whose code matches a pattern, less the ones allowed to. */
function offenders(pattern: RegExp, allowed: (name: string) => boolean): string[] {
  return FILES.filter((file) => pattern.test(file.code) && !allowed(file.name)).map((file) => file.name);
}

/** The one place that opens scoped transactions. */
const DATABASE = path.join('kernel', 'db', 'database.ts');

/** Setting the tenant, the units or the role of a transaction, in SQL or through set_config. */
const SETS_CONTEXT = /set_config\(\s*'(?:app\.tenant_id|app\.unit_ids|role)'|\bset\s+(?:local\s+)?role\b|\breset\s+role\b|\bset\s+(?:local\s+)?app\.(?:tenant_id|unit_ids)\b/i;
/** The owner connection: migrations, the job queue's tables, audit verification across tenants. */
const USES_OWNER = /\bdb\.owner\b|\bownerExecute\b|\bwithOwnerSession\b/;
/** Owner work the kernel does for everyone: migrations, jobs, audit verification and checkpoints, start-up. */
const OWNER_PARTS = [DATABASE, path.join('kernel', 'db', 'migrate.ts'), path.join('kernel', 'jobs', 'jobs.ts'), path.join('kernel', 'audit', 'verify.ts'), path.join('kernel', 'audit', 'checkpoints.ts'), 'start.ts', path.join('cli', 'verify-audit.ts')];

describe('one way into the tenant context (CON-ARCH-002)', () => {
  test('only the database opens a transaction in a tenant or a role', () => {
    assert.deepEqual(
      offenders(SETS_CONTEXT, (name) => name === DATABASE),
      [],
    );
  });

  test('a platform transaction enters a tenant only through continueInTenant', () => {
    assert.deepEqual(
      offenders(/\benterTenantContext\b/, () => false),
      [],
    );
  });

  test('no module uses the owner connection, which row level security does not bind', () => {
    assert.deepEqual(
      offenders(USES_OWNER, (name) => OWNER_PARTS.includes(name)),
      [],
    );
  });

  test('the scan sees what it looks for', () => {
    // Guards the patterns: the database sets the context, the job runner uses the owner connection.
    const code = (name: string) => FILES.find((file) => file.name === name)!.code;
    assert.match(code(DATABASE), SETS_CONTEXT);
    assert.match(code(path.join('kernel', 'jobs', 'jobs.ts')), USES_OWNER);
  });
});
