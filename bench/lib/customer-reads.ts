/**
 * The customer point reads that (c) and (d) share: every seeded session paired with a customer of
 * its own tenant, and the same read through the raw driver in three forms. One pool of the app's
 * size serves both suites, so (d) meets it as warm as (c) left it.
 */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import pg from 'pg';
import type { Config } from '../../apps/server/src/kernel/config.ts';
import type { DB } from '../../apps/server/src/kernel/db/schema.ts';
import { findCustomerById } from '../../apps/server/src/modules/customers/customers.queries.ts';
import { atCleanup } from './cleanup.ts';
import { pick } from './engine.ts';
import type { Options } from './options.ts';
import type { Seeded } from './seed.ts';

export interface CustomerReads {
  /** Each session with a customer of its own tenant. */
  reads: (Seeded['sessions'][number] & { customerId: string })[];
  /** The i-th read in the tenant transaction as tsv_app (RLS applies). */
  rlsRead(i: number): Promise<void>;
  /** The same transaction on customers_norls (no RLS) as the owner, with an explicit tenant. */
  norlsRead(i: number): Promise<void>;
  /** The SELECT on customers_norls alone, without a transaction. */
  bareRead(i: number): Promise<void>;
}

/** The exact SQL the customers module sends for a point read, captured from Kysely without a database. */
async function customerReadSql(): Promise<string> {
  let captured = '';
  const capture = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    log: (event) => {
      captured = event.query.sql;
    },
  });
  await findCustomerById(capture, '00000000-0000-0000-0000-000000000000');
  await capture.destroy();
  if (!/from "customers" where "id" = \$1$/.test(captured)) throw new Error(`unexpected customer query: ${captured}`);
  return captured;
}

/** Opens the raw pool on the benchmark database and checks that every read answers one row and that RLS hides another tenant's. */
export async function prepareCustomerReads(benchUrl: string, config: Config, options: Options, seeded: Seeded): Promise<CustomerReads> {
  // The raw PostgreSQL driver: a pool of the app's size on the same database.
  const raw = new pg.Pool({ connectionString: benchUrl, max: config.databasePoolSize });
  raw.on('error', () => undefined);
  atCleanup('raw pool', () => raw.end());

  const customersOf = new Map<string, string[]>();
  for (const c of seeded.customers) customersOf.set(c.tenantId, [...(customersOf.get(c.tenantId) ?? []), c.customerId]);
  const reads = seeded.sessions.map((s, i) => ({ ...s, customerId: pick(customersOf.get(s.tenantId)!, Math.floor(i / options.tenants)) }));

  const readSql = await customerReadSql();
  const norlsSql = readSql.replace(/from "customers" where "id" = \$1$/, 'from "customers_norls" where "tenant_id" = $1 and "id" = $2');
  const opening = (tenantId: string, role: boolean) =>
    [
      'begin',
      ...(role ? ['set local role tsv_app'] : []),
      `set local statement_timeout = ${Math.trunc(config.queryTimeoutMs)}`,
      `select set_config('app.tenant_id', '${tenantId}', true), set_config('app.unit_ids', '*', true)`,
    ].join('; ');
  /** BEGIN (+ SET LOCAL ROLE tsv_app) + set_config; SELECT; COMMIT: three round trips, like withTenant. */
  const transactionRead = async (text: string, values: string[], tenantId: string, role: boolean) => {
    const client = await raw.connect();
    try {
      await client.query(opening(tenantId, role));
      const result = await client.query(text, values);
      await client.query('commit');
      if (result.rowCount !== 1) throw new Error('customer not found');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  const rlsRead = (i: number) => {
    const r = pick(reads, i);
    return transactionRead(readSql, [r.customerId], r.tenantId, true);
  };
  const norlsRead = (i: number) => {
    const r = pick(reads, i);
    return transactionRead(norlsSql, [r.tenantId, r.customerId], r.tenantId, false);
  };
  const bareRead = async (i: number) => {
    const r = pick(reads, i);
    const result = await raw.query(norlsSql, [r.tenantId, r.customerId]);
    if (result.rowCount !== 1) throw new Error('customer not found');
  };

  await rlsRead(0);
  await norlsRead(0);
  await bareRead(0);
  const first = reads[0]!;
  const other = reads.find((r) => r.tenantId !== first.tenantId);
  if (other) {
    // RLS is really on: another tenant's customer is invisible in this tenant's transaction.
    const leaked = await transactionRead(readSql, [other.customerId], first.tenantId, true).then(
      () => true,
      () => false,
    );
    if (leaked) throw new Error('RLS did not hide another tenant’s customer');
  }
  return { reads, rlsRead, norlsRead, bareRead };
}
