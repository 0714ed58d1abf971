/** (j) Refresh token rotation through the full stack, driven by fetch in this process. */
import { byKey, drive, suite } from '../lib/engine.ts';
import { fmt } from '../lib/format.ts';
import { resultTable } from '../lib/report.ts';
import { deviceIdOf, PASSWORD } from '../lib/seed.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(j) refresh';

export const refreshSuite: BenchSuite = {
  name: 'refresh',
  title,
  keys: ['refresh'],
  async run({ options, seeded, appUrl }) {
    // Each refresh spends its token and returns the next one, so every connection carries its own chain.
    const refreshChains: string[] = [];
    for (const u of seeded.logins.slice(0, options.connections)) {
      const response = await fetch(`${appUrl}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: PASSWORD, tenant: u.slug, device: { id: deviceIdOf(u.email), os: 'bench' } }),
      });
      if (response.status !== 200) throw new Error(`refresh setup login: ${response.status} ${await response.text()}`);
      refreshChains.push(((await response.json()) as { refresh_token: string }).refresh_token);
    }
    const refresh = await suite(
      title,
      [
        {
          key: 'refresh',
          label: 'POST /v1/auth/refresh (full stack; rotation, reuse check, audit event, new access token), driven by fetch in this process',
          http: false,
          run: (s) =>
            drive(refreshChains.length, s, async () => {
              const token = refreshChains.shift()!;
              const response = await fetch(`${appUrl}/v1/auth/refresh`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ refresh_token: token }),
              });
              if (response.status !== 200) throw new Error(`refresh: ${response.status}`);
              refreshChains.push(((await response.json()) as { refresh_token: string }).refresh_token);
            }),
        },
      ],
      options,
    );

    return {
      results: refresh,
      report: () => ({
        summary: [
          `| (j) refresh token rotation | ${fmt(byKey(refresh, 'refresh').rps)} | ${fmt(byKey(refresh, 'refresh').p50, 2)} | ${fmt(byKey(refresh, 'refresh').p99, 2)} | - | - | - | - | - |`,
        ],
        section: `## (j) Refresh token rotation

POST /v1/auth/refresh through the full stack, ${options.connections} chains at once (each request spends its refresh token and carries the next one to the
chain's following request): the token looked up in its tenant, the reuse check, the session's idle and absolute limits, the rotation, an audit
event, and a new access token signed. **${fmt(byKey(refresh, 'refresh').rps)} req/s**, p50 ${fmt(byKey(refresh, 'refresh').p50, 2)} ms,
p99 ${fmt(byKey(refresh, 'refresh').p99, 2)} ms. The requests are sent by fetch from the benchmark process, which shares its CPU with the server.

${resultTable(title, refresh)}`,
        reading: [],
      }),
    };
  },
};
