// The database half of tenant isolation (DESIGN "Tenant isolation", rules 1, 2, 6 and 7), read from
// the catalog rather than from a list kept by hand: a table added by a later migration is checked
// the moment it exists.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Tx } from '../src/kernel/db/database.ts';
import { buildTestPlatform, sqlstate, type TestPlatform } from './helpers.ts';

const APP_ROLES = ['tsv_app', 'tsv_platform'] as const;

/** Rows of a catalog query on the owner connection. */
async function catalog<R>(t: TestPlatform, query: ReturnType<typeof sql<R>>): Promise<R[]> {
  return (await query.execute(t.db.owner)).rows;
}

describe('tenant isolation in the database catalog', () => {
  let t: TestPlatform;
  /** Every table in schema public with a tenant_id column: the tenant-scoped tables. */
  let tenantTables: string[];
  let acme: string;
  let globex: string;

  before(async () => {
    // No worker: nothing may change the data behind the test's back.
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    const rows = await catalog(
      t,
      sql<{ table_name: string }>`
        select c.table_name from information_schema.columns c
          join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name
         where c.table_schema = 'public' and c.column_name = 'tenant_id' and tb.table_type = 'BASE TABLE'
         order by c.table_name`,
    );
    tenantTables = rows.map((row) => row.table_name);
  });
  after(() => t?.close());

  test('the tenant-scoped tables are found (the checks below are not vacuous)', () => {
    for (const known of ['users', 'sessions', 'audit_events', 'customers', 'orders']) {
      assert.ok(tenantTables.includes(known), `expected ${known} among the tables with tenant_id: ${tenantTables.join(', ')}`);
    }
  });

  test('(a) every table with tenant_id has RLS enabled and forced and a policy for tsv_app', async () => {
    const rows = await catalog(
      t,
      sql<{ table_name: string; enabled: boolean; forced: boolean; app_policies: number }>`
        select c.relname as table_name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
               (select count(*)::int from pg_policies p
                 where p.schemaname = 'public' and p.tablename = c.relname
                   and ('tsv_app' = any (p.roles) or 'public' = any (p.roles))) as app_policies
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relname in (${sql.join(tenantTables)})`,
    );
    assert.equal(rows.length, tenantTables.length);
    const failures = rows.flatMap((row) => {
      const missing = [!row.enabled && 'RLS not enabled', !row.forced && 'RLS not forced', row.app_policies === 0 && 'no policy for tsv_app'].filter(Boolean);
      return missing.length ? [`${row.table_name}: ${missing.join(', ')}`] : [];
    });
    assert.deepEqual(failures, [], `tenant tables without isolation (use tsv_isolate_table in the migration):\n${failures.join('\n')}`);
  });

  test('(b) every table with tenant_id has an index led by tenant_id', async () => {
    const rows = await catalog(
      t,
      sql<{ table_name: string }>`
        select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relname in (${sql.join(tenantTables)})
           and not exists (
             select 1 from pg_index i
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
              where i.indrelid = c.oid and a.attname = 'tenant_id')
         order by 1`,
    );
    const missing = rows.map((row) => row.table_name);
    assert.deepEqual(missing, [], `tables with tenant_id but no index whose first column is tenant_id: ${missing.join(', ')}`);
  });

  test('(c) views are security_invoker; no function is SECURITY DEFINER or LEAKPROOF', async () => {
    // A view without security_invoker, and any materialized view, reads as its owner: RLS bypassed.
    const views = await catalog(
      t,
      sql<{ name: string; kind: string }>`
        select c.relname as name, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and (c.relkind = 'm' or (c.relkind = 'v'
           and not coalesce(c.reloptions && array['security_invoker=true', 'security_invoker=on', 'security_invoker=1'], false)))
         order by 1`,
    );

    const functions = await catalog(
      t,
      sql<{ signature: string; definer: boolean; leakproof: boolean }>`
        select p.oid::regprocedure::text as signature, p.prosecdef as definer, p.proleakproof as leakproof
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and (p.prosecdef or p.proleakproof)
         order by 1`,
    );
    const offenders = [
      ...views.map((v) => `${v.name}: ${v.kind === 'm' ? 'materialized view' : 'view without security_invoker'}`),
      ...functions.map((f) => `${f.signature}:${f.definer ? ' SECURITY DEFINER' : ''}${f.leakproof ? ' LEAKPROOF' : ''}`),
    ];
    assert.deepEqual(offenders, [], `objects that read past row-level security:\n${offenders.join('\n')}`);
  });

  describe('(d) the app and platform roles', () => {
    test('are not superusers, cannot bypass RLS, belong to no other role and own no table', async () => {
      const roles = await catalog(
        t,
        sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; memberships: number }>`
          select r.rolname, r.rolsuper, r.rolbypassrls,
                 (select count(*)::int from pg_auth_members m where m.member = r.oid) as memberships
            from pg_roles r where r.rolname in ('tsv_app', 'tsv_platform') order by 1`,
      );
      assert.deepEqual(roles, APP_ROLES.map((rolname) => ({ rolname, rolsuper: false, rolbypassrls: false, memberships: 0 })));

      const owned = await catalog(
        t,
        sql<{ name: string }>`
          select schemaname || '.' || tablename || ' owned by ' || tableowner as name from pg_tables
           where tableowner in ('tsv_app', 'tsv_platform')
          union all
          select c.oid::regclass::text || ' owned by ' || r.rolname from pg_class c join pg_roles r on r.oid = c.relowner
           where r.rolname in ('tsv_app', 'tsv_platform') and c.relkind in ('v', 'm', 'S', 'p', 'f')`,
      );
      assert.deepEqual(owned.map((o) => o.name), []);
    });

    test('have no UPDATE, DELETE or TRUNCATE privilege on audit_events, and attempts fail with 42501', async () => {
      for (const role of APP_ROLES) {
        for (const privilege of ['UPDATE', 'DELETE', 'TRUNCATE']) {
          const [row] = await catalog(t, sql<{ allowed: boolean }>`select has_table_privilege(${role}, 'public.audit_events', ${privilege}) as allowed`);
          assert.equal(row!.allowed, false, `${role} has ${privilege} on audit_events`);
        }
      }
      const tamper = (tx: Tx) => tx.updateTable('audit_events').set({ action: 'tampered' }).execute();
      const erase = (tx: Tx) => tx.deleteFrom('audit_events').execute();
      assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, tamper)), '42501');
      assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, erase)), '42501');
      assert.equal(await sqlstate(() => t.db.withPlatform(tamper)), '42501');
      assert.equal(await sqlstate(() => t.db.withPlatform(erase)), '42501');
    });

    test('cannot read job payloads: the queue holds every tenant\'s jobs without RLS', async () => {
      const tables = await catalog(t, sql<{ name: string }>`select table_name as name from information_schema.columns
        where table_schema = 'pgboss' and column_name = 'data'`);
      assert.ok(tables.length > 0, 'the job tables are found');
      for (const role of APP_ROLES) {
        for (const { name } of tables) {
          const [row] = await catalog(t, sql<{ allowed: boolean }>`select has_column_privilege(${role}, ${`pgboss.${name}`}, 'data', 'SELECT') as allowed`);
          assert.equal(row!.allowed, false, `${role} can read pgboss.${name}.data`);
        }
      }
      assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, (tx) => sql`select data from pgboss.job`.execute(tx))), '42501');
    });

    test('cannot switch off RLS, drop or alter a policy on any tenant table (42501, must be owner)', async () => {
      const policies = await catalog(
        t,
        sql<{ table_name: string; policy: string }>`
          select tablename as table_name, min(policyname) as policy from pg_policies
           where schemaname = 'public' and tablename in (${sql.join(tenantTables)}) group by tablename order by 1`,
      );
      for (const { table_name: table, policy } of policies) {
        const statements = [
          `alter table public.${table} disable row level security`,
          `alter table public.${table} no force row level security`,
          `drop policy ${policy} on public.${table}`,
          `alter policy ${policy} on public.${table} using (true)`,
        ];
        for (const statement of statements) {
          const run = (tx: Tx) => sql.raw(statement).execute(tx);
          assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, run)), '42501', `tsv_app: ${statement}`);
          assert.equal(await sqlstate(() => t.db.withPlatform(run)), '42501', `tsv_platform: ${statement}`);
        }
      }
    });
  });

  describe('(e) fail-closed: the app role without a tenant sees nothing and writes nothing', () => {
    /**
     * withTenant refuses anything but a UUID, so a transaction without a tenant is opened by hand on
     * the owner connection: the app role, and app.tenant_id either never set on this transaction
     * (NULL, or '' on a connection that used it before) or set to '' explicitly.
     */
    async function asAppRoleWithoutTenant<T>(setting: 'not set' | 'empty string', fn: (tx: Tx) => Promise<T>): Promise<T> {
      return t.db.owner.connection().execute(async (conn) => {
        await sql`begin`.execute(conn);
        try {
          await sql`set local role tsv_app`.execute(conn);
          if (setting === 'empty string') await sql`select set_config('app.tenant_id', '', true)`.execute(conn);
          const [role] = (await sql<{ role: string }>`select current_user as role`.execute(conn)).rows;
          assert.equal(role!.role, 'tsv_app');
          return await fn(conn);
        } finally {
          await sql`rollback`.execute(conn);
        }
      });
    }

    for (const setting of ['not set', 'empty string'] as const) {
      test(`app.tenant_id ${setting}: every tenant table reads 0 rows, updates touch 0 rows, a customer insert fails`, async () => {
        await asAppRoleWithoutTenant(setting, async (tx) => {
          for (const table of [...tenantTables, 'tenants']) {
            // A savepoint per table: a table the role may not read at all is closed too (42501).
            await sql`savepoint probe`.execute(tx);
            let rows = 0;
            const state = await sqlstate(async () => {
              rows = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(tx)).rows[0]!.n;
            });
            await sql`rollback to savepoint probe`.execute(tx);
            if (state !== null) assert.equal(state, '42501', `${table}: unexpected error ${state}`);
            assert.equal(rows, 0, `${table} shows ${rows} rows to the app role without a tenant`);
          }
          const updated = await tx.updateTable('customers').set({ name: 'Nobody' }).executeTakeFirst();
          assert.equal(Number(updated.numUpdatedRows), 0);
          const inserted = await sqlstate(() => tx.insertInto('customers').values({ tenant_id: acme, name: 'Orphan' }).execute());
          assert.equal(inserted, '42501');
        });
        // And the owner still sees the seeded data: the zeros above came from the policy.
        const seeded = await t.db.owner.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.ok(Number(seeded.n) > 0);
      });
    }
  });

  describe('(f) inside one tenant', () => {
    test('withTenant(acme) sees only acme rows in every tenant table', async () => {
      const acmeCustomers = await t.db.owner.selectFrom('customers').select('id').where('tenant_id', '=', acme).execute();
      const seen = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('customers').select(['id', 'tenant_id']).execute());
      assert.ok(seen.length > 0);
      assert.deepEqual(seen.map((c) => c.id).sort(), acmeCustomers.map((c) => c.id).sort());
      for (const table of tenantTables) {
        const [row] = await t.db.withWholeTenant(acme, async (tx) =>
          (await sql<{ foreign: number }>`select count(*)::int as foreign from ${sql.table(table)} where tenant_id is distinct from ${acme}::uuid`.execute(tx)).rows,
        );
        assert.equal(row!.foreign, 0, `${table}: acme's context sees rows of another tenant`);
      }
    });

    test("cannot write a row with globex's tenant_id, nor move a row to globex (42501)", async () => {
      const insert = await sqlstate(() =>
        t.db.withWholeTenant(acme, (tx) => tx.insertInto('customers').values({ tenant_id: globex, name: 'Planted' }).execute()),
      );
      assert.equal(insert, '42501');
      const move = await sqlstate(() => t.db.withWholeTenant(acme, (tx) => tx.updateTable('customers').set({ tenant_id: globex }).execute()));
      assert.equal(move, '42501');
      const planted = await t.db.owner.selectFrom('customers').select('id').where('name', '=', 'Planted').execute();
      assert.equal(planted.length, 0);
    });

    test("an acme order cannot reference a globex customer (the foreign key is composite)", async () => {
      const globexCustomer = await t.db.owner.selectFrom('customers').select('id').where('tenant_id', '=', globex).executeTakeFirstOrThrow();
      const state = await sqlstate(() =>
        t.db.withWholeTenant(acme, (tx) =>
          tx.insertInto('orders').values({ tenant_id: acme, customer_id: globexCustomer.id, total_cents: 100, currency: 'USD' }).execute(),
        ),
      );
      assert.equal(state, '23503', 'a plain foreign key on customer_id alone would accept an invisible customer of another tenant');
      const orders = await t.db.owner.selectFrom('orders').select('id').where('customer_id', '=', globexCustomer.id).where('tenant_id', '=', acme).execute();
      assert.equal(orders.length, 0);
    });
  });
});
