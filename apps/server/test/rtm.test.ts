import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isApiRoute } from '../src/kernel/http/server.ts';
import { renderModuleTable, TABLE_END, TABLE_START } from '../../../scripts/module-table.ts';
import { buildTestPlatform, type TestPlatform } from './helpers.ts';

// FR-RTM-001: every requirement is mapped, every route is mapped, and the matrix does not drift
// from the routes' own declarations.
const root = path.resolve(import.meta.dirname, '../../..');
const catalog = JSON.parse(fs.readFileSync(path.join(root, 'requirements/catalog.json'), 'utf8')) as { requirements: { id: string }[] };
const rtm = JSON.parse(fs.readFileSync(path.join(root, 'requirements/rtm.json'), 'utf8')) as {
  requirements: Record<string, { status: string; routes: string[]; tables: string[]; permissions: string[]; tests: string[] }>;
};
const ids = new Set(catalog.requirements.map((r) => r.id));
const STATUSES = new Set(['implemented', 'partial', 'measured', 'planned']);

describe('requirement traceability (FR-RTM-001)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
  });
  after(() => t.close());

  test('every catalogue requirement has an entry, and no entry names an unknown requirement', () => {
    assert.deepEqual([...ids].filter((id) => !rtm.requirements[id]), []);
    assert.deepEqual(Object.keys(rtm.requirements).filter((id) => !ids.has(id)), []);
    for (const [id, entry] of Object.entries(rtm.requirements)) assert.ok(STATUSES.has(entry.status), `${id}: status ${entry.status}`);
  });

  test("docs/architecture.md's module table is the one the module list draws (run npm run docs:modules)", () => {
    const document = fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
    const table = document.slice(document.indexOf(TABLE_START), document.indexOf(TABLE_END) + TABLE_END.length);
    assert.equal(table, renderModuleTable(t.running.modules));
  });

  test('every route names only known requirements', () => {
    for (const route of t.running.routes) {
      for (const id of route.requirements) assert.ok(ids.has(id), `${route.method} ${route.url} names unknown requirement ${id}`);
    }
  });

  test('the routes of the matrix are exactly the routes that declare each requirement (run npm run rtm:update)', () => {
    const declared = new Map<string, Set<string>>();
    for (const route of t.running.routes.filter((r) => isApiRoute(r.url))) {
      for (const id of route.requirements) declared.set(id, (declared.get(id) ?? new Set()).add(`${route.method} ${route.url}`));
    }
    for (const [id, entry] of Object.entries(rtm.requirements)) {
      assert.deepEqual([...entry.routes].sort(), [...(declared.get(id) ?? [])].sort(), `${id} routes drifted`);
    }
  });

  test('implemented requirements name tests that exist, and tables that exist', async () => {
    const tables = new Set((await t.db.owner.introspection.getTables()).map((table) => table.name));
    for (const [id, entry] of Object.entries(rtm.requirements)) {
      if (entry.status === 'planned') continue;
      assert.ok(entry.tests.length > 0, `${id} has no test`);
      for (const file of entry.tests) assert.ok(fs.existsSync(path.join(root, file)), `${id}: test ${file} does not exist`);
      for (const table of entry.tables) assert.ok(tables.has(table), `${id}: table ${table} does not exist`);
    }
  });
});
