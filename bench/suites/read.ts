/** (c) The tenant-scoped point read through the full stack against the same read through the raw driver. */
import os from 'node:os';
import type { AutocannonRequest } from 'autocannon';
import { byKey, drive, paired, suite } from '../lib/engine.ts';
import { fmt, pct } from '../lib/format.ts';
import { bearer, expectOk } from '../lib/http.ts';
import { met, ratioLine, resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(c) read';

export const readSuite: BenchSuite = {
  name: 'read',
  title,
  keys: ['read', 'raw'],
  async run({ options, config, appUrl, load, customerReads }) {
    const { reads, rlsRead } = customerReads;
    const readRequests: AutocannonRequest[] = reads.map((r) => ({
      method: 'GET',
      path: `/v1/tenants/${r.tenantId}/customers/${r.customerId}`,
      headers: bearer(r.token),
    }));
    const first = reads[0]!;
    await expectOk(`${appUrl}/v1/tenants/${first.tenantId}/customers/${first.customerId}`, { headers: bearer(first.token) }, 'customer read');

    const read = await suite(
      title,
      [
        {
          key: 'read',
          label: 'GET /v1/tenants/{tenantId}/customers/{id} (full stack)',
          http: true,
          guarded: true,
          run: (s) => load.run(appUrl, options.connections, s, readRequests),
        },
        {
          key: 'raw',
          label: `raw pg: BEGIN+SET LOCAL ROLE+set_config; SELECT; COMMIT (pool ${config.databasePoolSize}, ceiling)`,
          http: false,
          run: (s) => drive(options.connections, s, rlsRead),
        },
      ],
      options,
    );

    return {
      results: read,
      report(f) {
        const { readRatio } = f;
        const readSample = byKey(read, 'read');
        const rawSample = byKey(read, 'raw');
        return {
          summary: [
            `| (c) tenant-scoped read | ${fmt(f.readRps)} | ${fmt(readSample.p50, 2)} | ${fmt(readSample.p99, 2)} | raw pg tenant transaction | ${fmt(f.rawReadRps)} | ${pct(readRatio)} | >= 50% | ${met(readRatio >= 0.5)} |`,
          ],
          section: `## (c) Tenant-scoped read vs the raw transaction

GET /v1/tenants/{tenantId}/customers/{id} with the tokens above (each token reads a customer of its own tenant). The ceiling runs the same point read with \`pg\` directly:
a Pool of ${config.databasePoolSize}, \`begin; set local role tsv_app; set local statement_timeout; select set_config('app.tenant_id', …)\` in one round trip, the SELECT Kysely
generates for \`findCustomerById\`, then COMMIT, with ${options.connections} in flight from this process.
The customer read is marked sensitive (audit-on-read, FR-AUD-005); as DESIGN's target asks, this measurement runs with \`AUDIT_ON_READ=${config.auditOnRead}\`
(with it on, each answer first appends a \`resource.read\` event to the tenant's chain in a transaction of its own).

${resultTable(title, read)}

${ratioLine('Ratio full stack ÷ raw', paired(read, 'read', 'raw'), f.readRps / f.rawReadRps)}`,
          reading: [
            `The tenant-scoped read through the full stack ran at ${fmt(f.readRps)} req/s, ${pct(readRatio)} of the raw transaction (${fmt(f.rawReadRps)} req/s); the target is >= 50%, ${readRatio >= 0.5 ? 'met' : 'not met'}. ` +
              `During it this process (the server) used ${fmt(readSample.cpu.self, 2)} cores with its event loop busy ${pct(readSample.elu)} of the time, the load generator ${fmt(readSample.cpu.load, 2)} and PostgreSQL ${fmt(readSample.cpu.postgres, 2)}, of ${os.cpus().length}; ` +
              `the raw driver needed ${fmt(rawSample.cpu.self, 2)} cores of Node for ${fmt(rawSample.rps)} transactions/s. Each full-stack read opened ${fmt(readSample.txPerRequest, 2)} transactions (${readSample.cacheHitRate === null ? 'n/a' : pct(readSample.cacheHitRate)} session-cache hits).`,
          ],
        };
      },
    };
  },
};
