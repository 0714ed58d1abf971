import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase } from '../../../test/helpers.ts';
import { createDatabase, isConnectionError, type Database } from './database.ts';

describe('database interface (CON-ARCH-002, NFR-OBS-001)', () => {
  let db: Database;
  let drop: () => Promise<void>;

  before(async () => {
    ({ db, drop } = await createTestDatabase());
  });
  after(() => drop());

  test('a statement running past QUERY_TIMEOUT_MS fails on either backend, and the database stays usable', async () => {
    // A database of its own: under so short a limit, any statement of the other tests that a busy
    // machine delays would time out too.
    const limited = await createTestDatabase({ queryTimeoutMs: 300 });
    try {
      const started = Date.now();
      await assert.rejects(limited.db.withWholeTenant(randomUUID(), (tx) => sql`select pg_sleep(1.5)`.execute(tx)), (error: Error & { code?: string }) =>
        error.code === '57014' || error.code === 'query-timeout');
      // The server cancels the statement; the embedded engine runs on this thread and cannot be
      // interrupted, so there the statement fails (and rolls back) when it returns.
      if (limited.db.backend === 'postgres') assert.ok(Date.now() - started < 1_400, 'the server cancelled the statement');
      const { rows } = await limited.db.withWholeTenant(randomUUID(), (tx) => sql<{ one: number }>`select 1 as one`.execute(tx));
      assert.equal(rows[0]!.one, 1);
    } finally {
      await limited.drop();
    }
  });

  test('concurrent tenant transactions each see only their own tenant setting', async () => {
    const tenants = Array.from({ length: 20 }, () => randomUUID());
    const seen = await Promise.all(
      tenants.map((tenantId) =>
        db.withWholeTenant(tenantId, async (tx) => {
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
    await assert.rejects(db.withWholeTenant("x'); drop table customers; --", async () => 1), /UUID/);
  });

  test('after a transaction the connection keeps no tenant and no role', async () => {
    await db.withWholeTenant(randomUUID(), (tx) => sql`select 1`.execute(tx));
    const { rows } = await sql<{ tenant: string | null }>`select nullif(current_setting('app.tenant_id', true), '') as tenant`.execute(db.owner);
    assert.equal(rows[0]!.tenant, null);
  });
});

test('isConnectionError: a lost or refused connection, never a statement the server refused (NFR-OPS-001)', () => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const error of [
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57P02'),
    coded('57P03', 'the database system is shutting down'),
    coded('08006'),
    coded('08001'),
    coded('ECONNREFUSED'),
    coded('ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''),
  ]) {
    assert.equal(isConnectionError(error), true, error.message);
  }
  for (const error of [coded('23505'), coded('57014'), coded('42501'), coded('40001'), new Error('boom'), 'Connection terminated']) {
    assert.equal(isConnectionError(error), false, String(error));
  }
});

/**
 * A TCP relay in front of the server that can drop every connection it carries: the client only
 * learns of it when it next sends something, like a pooled connection whose server went away.
 */
async function relayTo(target: URL) {
  const open = new Set<{ client: net.Socket; server: net.Socket; cut: boolean }>();
  let accepted = 0;
  const relay = net.createServer((client) => {
    accepted++;
    const pair = { client, server: net.connect(Number(target.port || 5432), target.hostname), cut: false };
    open.add(pair);
    client.on('data', (chunk) => (pair.cut ? client.destroy() : pair.server.write(chunk)));
    pair.server.on('data', (chunk) => client.write(chunk));
    const close = () => {
      open.delete(pair);
      client.destroy();
      pair.server.destroy();
    };
    client.on('error', close).on('close', close);
    pair.server.on('error', close).on('close', () => pair.cut || close());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    get accepted() {
      return accepted;
    },
    /** Cuts every open connection at the server's side; each client end fails as soon as it is used. */
    cut() {
      for (const pair of open) {
        pair.cut = true;
        pair.server.destroy();
      }
    },
    close: () => new Promise((resolve) => relay.close(resolve)),
  };
}

describe('connections lost under a transaction (NFR-OPS-001)', { skip: process.env.DATABASE_URL ? false : 'PostgreSQL only (DATABASE_URL unset): the embedded database has no connections to lose' }, () => {
  let drop: () => Promise<void>;
  let relay: Awaited<ReturnType<typeof relayTo>>;
  let db: Database;

  before(async () => {
    const created = await createTestDatabase();
    drop = created.drop;
    relay = await relayTo(new URL(created.url!));
    // One connection, so that the next transaction gets the very connection that was cut.
    db = await createDatabase({ databaseUrl: relay.url, poolSize: 1, queryTimeoutMs: 5_000 });
  });
  after(async () => {
    await db?.close();
    await relay?.close();
    await drop?.();
  });

  test('a connection found dead when the transaction opens is replaced, and the transaction runs once', async () => {
    await db.withWholeTenant(randomUUID(), (tx) => sql`select 1`.execute(tx));
    const before = relay.accepted;
    relay.cut();
    let runs = 0;
    const { rows } = await db.withWholeTenant(randomUUID(), async (tx) => {
      runs++;
      return sql<{ one: number }>`select 1 as one`.execute(tx);
    });
    assert.equal(rows[0]!.one, 1);
    assert.equal(runs, 1);
    assert.equal(relay.accepted, before + 1, 'a fresh connection');
  });

  test('a connection lost inside the transaction fails it as a connection error, without running it again', async () => {
    let runs = 0;
    await assert.rejects(
      db.withWholeTenant(randomUUID(), async (tx) => {
        runs++;
        relay.cut();
        await sql`select 1`.execute(tx);
      }),
      (error) => isConnectionError(error),
    );
    assert.equal(runs, 1);
    const { rows } = await db.withWholeTenant(randomUUID(), (tx) => sql<{ one: number }>`select 1 as one`.execute(tx));
    assert.equal(rows[0]!.one, 1, 'the next transaction gets a working connection');
  });
});
