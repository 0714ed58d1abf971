// The guard reads sessions through the view session_principals (kernel/http/guard.ts). The view is
// security_invoker, so row-level security of the tables behind it holds for the caller: a tenant's
// context sees only its own sessions, with its own roles and policies, and the platform role only
// operators' sessions. Without security_invoker the view would read as its owner and show every row.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildTestPlatform, type TestPlatform } from './helpers.ts';

describe('the session_principals view keeps row-level security (CON-ARCH-005, FR-TEN-006)', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    await t.login('owner@acme.demo.test', 'acme');
    await t.login('owner@globex.demo.test', 'globex');
    await t.addStaff('support@platform.test', 'support');
    await t.login('support@platform.test');
    // The policy rows the view joins, one per tenant, so a leak of another tenant's would show.
    for (const tenantId of [acme, globex]) {
      await t.db.withWholeTenant(tenantId, (tx) => tx.insertInto('tenant_session_policy').values({ tenant_id: tenantId, idle_timeout_seconds: tenantId === acme ? 600 : 900 }).execute());
    }
  });
  after(() => t?.close());

  test('every tenant and the platform have sessions (the checks below are not vacuous)', async () => {
    const rows = await t.db.owner.selectFrom('session_principals').select(['tenant_id']).execute();
    for (const tenantId of [acme, globex, null]) assert.ok(rows.some((row) => row.tenant_id === tenantId), `a session of ${tenantId ?? 'the platform'}`);
  });

  test('a tenant context sees only its own sessions, roles, tenant and policies through the view', async () => {
    for (const [tenantId, idle] of [[acme, 600], [globex, 900]] as const) {
      const rows = await t.db.withWholeTenant(tenantId, (tx) => tx.selectFrom('session_principals').selectAll().execute());
      const own = await t.db.owner.selectFrom('sessions').select('id').where('tenant_id', '=', tenantId).execute();
      assert.ok(rows.length > 0);
      assert.deepEqual(rows.map((row) => row.id).sort(), own.map((row) => row.id).sort(), 'exactly the tenant\'s own sessions');
      for (const row of rows) {
        assert.equal(row.tenant_id, tenantId);
        assert.equal(row.tenant_status, 'active');
        assert.equal(row.tenant_idle_timeout_seconds, idle);
        assert.ok((row.assignments ?? []).length > 0, 'the owner\'s role assignment');
      }
    }
  });

  test("the platform role sees only operators' sessions, and no tenant's roles or policies", async () => {
    const rows = await t.db.withPlatform((tx) => tx.selectFrom('session_principals').selectAll().execute());
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.equal(row.tenant_id, null);
      assert.deepEqual([row.assignments, row.tenant_idle_timeout_seconds, row.phone_unverified], [null, null, false]);
    }
  });

  test('the view reads as its caller (security_invoker)', async () => {
    const { rows } = await sql<{ options: string[] | null }>`select reloptions as options from pg_class where relname = 'session_principals' and relkind = 'v'`.execute(t.db.owner);
    assert.deepEqual(rows.map((row) => row.options), [['security_invoker=true']]);
  });
});
