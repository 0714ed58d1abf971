// Rewrites the module table of docs/architecture.md from the module list (scripts/module-table.ts).
import fs from 'node:fs';
import { buildTestPlatform } from '../apps/server/test/helpers.ts';
import { withModuleTable } from './module-table.ts';

const file = new URL('../docs/architecture.md', import.meta.url);
const t = await buildTestPlatform({}, { worker: false });
try {
  fs.writeFileSync(file, withModuleTable(fs.readFileSync(file, 'utf8'), t.running.modules));
} finally {
  await t.close();
}
