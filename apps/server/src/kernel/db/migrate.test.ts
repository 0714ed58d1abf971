// The migrations run from scratch, here only: every other test file starts from a copy of the test
// template (test/helpers.ts), which this file checks against a database prepared from nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase } from '../../../test/helpers.ts';
import type { Database } from './database.ts';
import { appliedMigrations, migrate, migrationsCurrent, readMigrations } from './migrate.ts';

/** Where the schema lives: everything but the system's own schemas. */
const OWN_SCHEMAS = sql`n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`;

/**
 * What the migrations and the rest of prepareDatabase leave behind, as comparable lines: relations
 * with their row-level security and grants, columns, constraints, indexes, policies, triggers,
 * functions, the permission catalog, the job queues' settings and every table's row count.
 */
async function describeDatabase(db: Database): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    select line from (
      select format('relation %s.%s %s rls=%s/%s acl=%s', n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl) as line
        from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${OWN_SCHEMAS}
      union all
      select format('column %s.%s.%s %s notnull=%s default=%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where ${OWN_SCHEMAS} and c.relkind in ('r', 'p', 'v', 'm') and a.attnum > 0 and not a.attisdropped
      union all
      select format('constraint %s.%s %s', n.nspname, co.conname, pg_get_constraintdef(co.oid))
        from pg_constraint co join pg_namespace n on n.oid = co.connamespace where ${OWN_SCHEMAS}
      union all
      select format('index %s', pg_get_indexdef(i.indexrelid))
        from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where ${OWN_SCHEMAS}
      union all
      select format('policy %s.%s.%s %s %s %s using=%s check=%s', schemaname, tablename, policyname, permissive, cmd, roles, qual, with_check)
        from pg_policies
      union all
      select format('trigger %s', pg_get_triggerdef(t.oid)) from pg_trigger t where not t.tgisinternal
      union all
      select format('function %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace where ${OWN_SCHEMAS} and p.prokind in ('f', 'p')
      union all
      select format('permission %s %s %s %s', key, plane, sensitive, catalog_version) from permissions
      union all
      select format('queue %s %s retry=%s/%s/%s expire=%s retention=%s dead_letter=%s', name, policy, retry_limit, retry_delay, retry_backoff,
        expire_seconds, retention_seconds, dead_letter) from pgboss.queue
      union all
      select format('rows %s.%s %s', n.nspname, c.relname,
        (xpath('/row/count/text()', query_to_xml(format('select count(*) from %I.%I', n.nspname, c.relname), false, true, '')))[1])
        from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${OWN_SCHEMAS} and c.relkind = 'r'
    ) description order by line`.execute(db.owner);
  return rows.map((row) => row.line);
}

describe('migrations from scratch', () => {
  let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
  let template: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async () => {
    scratch = await createTestDatabase({ fromScratch: true });
    template = await createTestDatabase();
  });
  after(async () => {
    await scratch?.drop();
    await template?.drop();
  });

  test('an empty database gets every migration in order, and a second run applies none', async () => {
    assert.deepEqual(await appliedMigrations(scratch.db), (await readMigrations()).map((file) => file.name));
    assert.equal(await migrationsCurrent(scratch.db), true);
    assert.deepEqual(await migrate(scratch.db), []);
  });

  test('the test template is what the migrations make from scratch: schema, grants, catalog, queues, rows', async () => {
    const made = await describeDatabase(scratch.db);
    assert.ok(made.some((line) => line.startsWith('policy public.customers.')), 'the description covers the policies');
    const copied = await describeDatabase(template.db);
    const differences = {
      missingFromTemplate: made.filter((line) => !copied.includes(line)),
      onlyInTemplate: copied.filter((line) => !made.includes(line)),
    };
    assert.deepEqual(differences, { missingFromTemplate: [], onlyInTemplate: [] });
  });
});
