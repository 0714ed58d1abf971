// Runs every *.test.ts of the workspaces in Node's test runner (TypeScript through tsx).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const roots = ['apps/server/src', 'apps/server/test', 'apps/console/test', 'packages/sdk/src'];
const files = [];
function walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') walk(full);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) files.push(full);
  }
}
roots.forEach(walk);
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((word) => f.includes(word))) : files;
// A file that leaves a handle open ends once its tests are done, and one that hangs fails after
// FILE_TIMEOUT_MS (the runner times each file as a whole) instead of holding up the run.
const FILE_TIMEOUT_MS = 20 * 60 * 1000;
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-force-exit',
    `--test-timeout=${FILE_TIMEOUT_MS}`,
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    ...selected.sort(),
  ],
  { stdio: 'inherit', env: { ENVIRONMENT: 'test', LOG_LEVEL: 'silent', ...process.env } },
);
process.exit(result.status ?? 1);
