/** (d) The overhead of row-level security: the raw tenant transaction with RLS and without. */
import { byKey, drive, paired, suite } from '../lib/engine.ts';
import { fmt, pct } from '../lib/format.ts';
import { met, ratioLine, resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(d) rls';

export const rlsSuite: BenchSuite = {
  name: 'rls',
  title,
  keys: ['rls', 'norls', 'bare'],
  async run({ options, customerReads }) {
    const { rlsRead, norlsRead, bareRead } = customerReads;
    const rls = await suite(
      title,
      [
        { key: 'rls', label: 'customers, tenant transaction as tsv_app (RLS applies)', http: false, run: (s) => drive(options.connections, s, rlsRead) },
        {
          key: 'norls',
          label: 'customers_norls (no RLS), same transaction as owner, explicit where tenant_id = $1',
          http: false,
          run: (s) => drive(options.connections, s, norlsRead),
        },
        {
          key: 'bare',
          label: 'customers_norls, the SELECT alone (one round trip, no transaction; reference)',
          http: false,
          run: (s) => drive(options.connections, s, bareRead),
        },
      ],
      options,
    );

    return {
      results: rls,
      report(f) {
        const bareRps = byKey(rls, 'bare').rps;
        const rlsRps = byKey(rls, 'rls').rps;
        return {
          summary: [
            `| (d) RLS overhead | ${fmt(rlsRps)} with RLS | ${fmt(byKey(rls, 'rls').p50, 2)} | ${fmt(byKey(rls, 'rls').p99, 2)} | same without RLS | ${fmt(byKey(rls, 'norls').rps)} | ${pct(f.rlsOverhead)} overhead | <= 10% | ${met(f.rlsOverhead <= 0.1)} |`,
          ],
          section: `## (d) RLS overhead

Both rows use the raw driver and the same three round trips. With RLS: \`customers\` as tsv_app (the policy supplies the tenant). Without: \`customers_norls\`
(a copy made with \`like customers including all\` and the same rows, no RLS), queried as the owner with an explicit \`where tenant_id = $1 and id = $2\`.
The third row is the SELECT alone on \`customers_norls\`, one round trip without a transaction, to show what the wrapper costs.

${resultTable(title, rls)}

${ratioLine('RLS overhead (req/s without RLS ÷ with RLS − 1)', paired(rls, 'norls', 'rls', (a, b) => a / b - 1), byKey(rls, 'norls').rps / rlsRps - 1)}`,
          reading: [
            `RLS overhead: the same transaction without RLS ran ${f.rlsOverhead >= 0 ? `${pct(f.rlsOverhead)} faster` : `${pct(-f.rlsOverhead)} slower`} than with it (target <= 10%, ${f.rlsOverhead <= 0.1 ? 'met' : 'not met'}); ` +
              `the SELECT alone, in one round trip, ran ${fmt(bareRps / rlsRps, 2)}x the wrapped read, so the transaction wrapper, not the policy, is the main cost.`,
          ],
        };
      },
    };
  },
};
