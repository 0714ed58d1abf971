// Rewrites the `routes` of every entry in requirements/rtm.json from the live route table, so the
// matrix follows the routes' own declarations. Review the diff: the RTM test fails on drift.
import fs from 'node:fs';
import { buildTestPlatform } from '../apps/server/test/helpers.ts';
import { isApiRoute } from '../apps/server/src/kernel/http/server.ts';

const file = new URL('../requirements/rtm.json', import.meta.url);
const rtm = JSON.parse(fs.readFileSync(file, 'utf8')) as { requirements: Record<string, { routes?: string[] }> };
const t = await buildTestPlatform({}, { worker: false });
try {
  for (const entry of Object.values(rtm.requirements)) entry.routes = [];
  for (const route of t.running.routes.filter((r) => isApiRoute(r.url))) {
    for (const id of route.requirements) {
      const entry = rtm.requirements[id];
      if (entry) entry.routes = [...new Set([...(entry.routes ?? []), `${route.method} ${route.url}`])].sort();
    }
  }
  fs.writeFileSync(file, `${JSON.stringify(rtm, null, 2)}\n`);
} finally {
  await t.close();
}
