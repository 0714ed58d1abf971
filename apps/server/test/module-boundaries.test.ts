// CON-ARCH-005: a module is used only through its index.ts, and modules do not import each other
// in a circle. Read from the source, so a new bypass or cycle fails here before it can bite at
// load time (a cycle through index files leaves a schema or constant uninitialised).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MODULES as LISTED } from '../src/modules/index.ts';

const SRC = path.resolve(import.meta.dirname, '../src');
const MODULES = path.join(SRC, 'modules');
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.includes('test-helpers') ? [full] : [];
  });
}

/** The module a file belongs to, or null outside modules/. */
const moduleOf = (file: string) => (file.startsWith(MODULES + path.sep) ? path.relative(MODULES, file).split(path.sep)[0]! : null);

/** Every relative import of the non-test sources, resolved to a file. */
const imports = sourceFiles(SRC).flatMap((file) =>
  [...fs.readFileSync(file, 'utf8').matchAll(IMPORT)]
    .map((match) => match[1]!)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({ file, target: path.resolve(path.dirname(file), specifier) })),
);

describe('module boundaries (CON-ARCH-005)', () => {
  test('code outside a module reaches it only through its index.ts', () => {
    const bypasses = imports
      .filter(({ file, target }) => moduleOf(target) !== null && moduleOf(target) !== moduleOf(file) && path.basename(target) !== 'index.ts')
      .map(({ file, target }) => `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
    assert.deepEqual(bypasses, []);
  });

  test('the kernel imports no module', () => {
    const kernel = path.join(SRC, 'kernel') + path.sep;
    const reaching = imports.filter(({ file, target }) => file.startsWith(kernel) && moduleOf(target) !== null).map(({ file }) => path.relative(SRC, file));
    assert.deepEqual(reaching, []);
  });

  test('start.ts reaches the modules only through their list; every module folder is listed once, by its name', () => {
    const start = path.join(SRC, 'start.ts');
    const fromStart = imports.filter(({ file, target }) => file === start && target.startsWith(MODULES + path.sep)).map(({ target }) => path.relative(SRC, target));
    assert.deepEqual(fromStart, ['modules/index.ts']);
    const folders = fs.readdirSync(MODULES, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    assert.deepEqual(LISTED.map((module) => module.name).sort(), folders.sort());
  });

  test('a module depends only on modules listed before it', () => {
    const built = new Set<string>();
    const late = LISTED.flatMap((module) => {
      const missing = module.dependsOn.filter((name: string) => !built.has(name)).map((name: string) => `${module.name} -> ${name}`);
      built.add(module.name);
      return missing;
    });
    assert.deepEqual(late, []);
  });

  test("a module's rules and queries import nothing from the HTTP kernel: only its routes do", () => {
    const http = path.join(SRC, 'kernel/http') + path.sep;
    const routesOnly = /\.(routes|schemas)\.ts$/;
    const reaching = imports
      .filter(({ file, target }) => moduleOf(file) !== null && !routesOnly.test(file) && path.basename(file) !== 'index.ts' && target.startsWith(http))
      .map(({ file, target }) => `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
    assert.deepEqual(reaching, []);
  });

  test('only the database kernel opens a tenant context: no other code sets app.tenant_id or app.unit_ids', () => {
    const database = path.join(SRC, 'kernel/db/database.ts');
    const setting = /set_config\(\s*'app\.(tenant_id|unit_ids)'|set\s+(local\s+)?app\.(tenant_id|unit_ids)/i;
    const elsewhere = sourceFiles(SRC).filter((file) => file !== database && setting.test(fs.readFileSync(file, 'utf8')));
    assert.deepEqual(elsewhere.map((file) => path.relative(SRC, file)), []);
    assert.ok(setting.test(fs.readFileSync(database, 'utf8')), 'the pattern finds the one place that does');
  });

  test('no import cycle between modules', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of imports) {
      const from = moduleOf(file);
      const to = moduleOf(target);
      if (from && to && from !== to) graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
    // Each cycle once, as the path from its alphabetically first module.
    const cycles = new Set<string>();
    const walk = (start: string, at: string, trail: string[]) => {
      for (const next of graph.get(at) ?? []) {
        if (next === start) cycles.add([...trail, start].join(' -> '));
        else if (next > start && !trail.includes(next)) walk(start, next, [...trail, next]);
      }
    };
    for (const start of [...graph.keys()].sort()) walk(start, start, [start]);
    assert.deepEqual([...cycles].sort(), []);
  });
});
