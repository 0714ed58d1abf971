import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase } from '../../../test/helpers.ts';
import type { Database } from './database.ts';

describe('database interface (CON-ARCH-002, NFR-OBS-001)', () => {
  let db: Database;
  let drop: () => Promise<void>;

  before(async () => {
    ({ db, drop } = await createTestDatabase(300));
  });
  after(() => drop());

  test('a statement running past QUERY_TIMEOUT_MS fails on either backend, and the database stays usable', async () => {
    const started = Date.now();
    await assert.rejects(db.withTenant(randomUUID(), (tx) => sql`select pg_sleep(1.5)`.execute(tx)), (error: Error & { code?: string }) =>
      error.code === '57014' || error.code === 'query-timeout');
    // The server cancels the statement; the embedded engine runs on this thread and cannot be
    // interrupted, so there the statement fails (and rolls back) when it returns.
    if (db.backend === 'postgres') assert.ok(Date.now() - started < 1_400, 'the server cancelled the statement');
    const { rows } = await db.withTenant(randomUUID(), (tx) => sql<{ one: number }>`select 1 as one`.execute(tx));
    assert.equal(rows[0]!.one, 1);
  });

  test('concurrent tenant transactions each see only their own tenant setting', async () => {
    const tenants = Array.from({ length: 20 }, () => randomUUID());
    const seen = await Promise.all(
      tenants.map((tenantId) =>
        db.withTenant(tenantId, async (tx) => {
          await sql`select pg_sleep(0.01)`.execute(tx);
          const { rows } = await sql<{ tenant: string; role: string }>`select current_setting('app.tenant_id') as tenant, current_user as role`.execute(tx);
          return rows[0]!;
        }),
      ),
    );
    assert.deepEqual(seen.map((row) => row.tenant), tenants);
    assert.ok(seen.every((row) => row.role === 'tsv_app'));
  });

  test('a tenant id that is not a UUID never reaches SQL', async () => {
    await assert.rejects(db.withTenant("x'); drop table customers; --", async () => 1), /UUID/);
  });

  test('after a transaction the connection keeps no tenant and no role', async () => {
    await db.withTenant(randomUUID(), (tx) => sql`select 1`.execute(tx));
    const { rows } = await sql<{ tenant: string | null }>`select nullif(current_setting('app.tenant_id', true), '') as tenant`.execute(db.owner);
    assert.equal(rows[0]!.tenant, null);
  });
});
