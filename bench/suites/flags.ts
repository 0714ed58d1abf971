/**
 * (i) Flag delivery: GET /v1/apps/flags with an application key (flags:read) over every tenant:
 * the whole document, as a client without a copy gets it, and the conditional request of a client
 * whose copy is current (If-None-Match: the ETag, answered 304 without a body). Both come from the
 * node's document cache; a change drops a tenant's document on every node (NOTIFY).
 */
import type { AutocannonRequest } from 'autocannon';
import { byKey, suite } from '../lib/engine.ts';
import { fmt } from '../lib/format.ts';
import { resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';
import { systemContext } from '../lib/system-context.ts';

const title = '(i) flags';

export const flagSuite: BenchSuite = {
  name: 'delivery',
  title,
  keys: ['flags', 'flags-304'],
  async run({ options, log, running, seeded, appUrl, load }) {
    const system = systemContext(log);
    const { key: flagsKey } = await running.services.apps.registerWithKey(
      system,
      { name: 'Bench flags', environment: 'production', owner: 'bench@example.com' },
      { scopes: ['flags:read'] },
    );
    for (const key of ['bench-alpha', 'bench-beta', 'bench-gamma']) await running.services.flags.createFlag(system, { key, kind: 'boolean', default_value: key !== 'bench-beta' });
    await running.services.flags.createFlag(system, { key: 'bench-variant', kind: 'variant', variants: ['a', 'b', 'c'], default_value: 'a', plan_defaults: { standard: 'b' } });
    // Documents differ between tenants: every other one (of the first 200) has an override.
    for (const [i, tenant] of seeded.tenants.slice(0, 200).entries()) {
      if (i % 2) await running.services.flags.setOverride(system, 'bench-variant', { tenant_id: tenant.id, value: 'c' });
    }
    const flagHeaders = { authorization: `Bearer ${flagsKey.secret}` };
    const flagEtags = new Map<string, string>();
    for (const tenant of seeded.tenants) {
      const response = await fetch(`${appUrl}/v1/apps/flags?tenant=${tenant.id}`, { headers: flagHeaders });
      if (response.status !== 200) throw new Error(`flag delivery: ${response.status} ${await response.text()}`);
      flagEtags.set(tenant.id, response.headers.get('etag')!);
      const again = await fetch(`${appUrl}/v1/apps/flags?tenant=${tenant.id}`, { headers: { ...flagHeaders, 'if-none-match': flagEtags.get(tenant.id)! } });
      if (again.status !== 304) throw new Error(`flag delivery with If-None-Match: ${again.status}`);
    }
    const flagPath = (tenantId: string) => `/v1/apps/flags?tenant=${tenantId}`;
    const documentRequests: AutocannonRequest[] = seeded.tenants.map((t) => ({ method: 'GET', path: flagPath(t.id), headers: flagHeaders }));
    const notModifiedRequests: AutocannonRequest[] = seeded.tenants.map((t) => ({
      method: 'GET',
      path: flagPath(t.id),
      headers: { ...flagHeaders, 'if-none-match': flagEtags.get(t.id)! },
    }));
    const delivery = await suite(
      title,
      [
        {
          key: 'flags',
          label: 'GET /v1/apps/flags: the whole document with its ETag (a client without a copy)',
          http: true,
          run: (s) => load.run(appUrl, options.connections, s, documentRequests),
        },
        {
          key: 'flags-304',
          label: 'GET /v1/apps/flags with If-None-Match of the current ETag: 304, no body (a client whose copy is current)',
          http: true,
          run: (s) => load.run(appUrl, options.connections, s, notModifiedRequests, 304),
        },
      ],
      options,
    );

    return {
      results: delivery,
      report: () => ({
        summary: [],
        section: `## (i) Flag delivery

GET /v1/apps/flags?tenant=… through the full stack with an application key (\`flags:read\`), rotating over the ${seeded.tenants.length} tenants: the key
checked (from the node's key cache), the tenant checked against the key's scope, the tenant's document (effective flags and tripped switches)
from the node's cache, and its strong ETag. A client without a copy gets the whole document: **${fmt(byKey(delivery, 'flags').rps)} req/s**
(p99 ${fmt(byKey(delivery, 'flags').p99, 2)} ms); a client whose copy is current sends its ETag and gets 304 without a body:
**${fmt(byKey(delivery, 'flags-304').rps)} req/s** (p99 ${fmt(byKey(delivery, 'flags-304').p99, 2)} ms). The SDK's client holds a stream open instead and
polls only while it has none.

${resultTable(title, delivery)}`,
        reading: [],
      }),
    };
  },
};
