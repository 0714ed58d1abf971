/** (g) Audit append throughput: events appended to the tenants' hash chains as the services append them. */
import { randomUUID } from 'node:crypto';
import { recordAudit } from '../../apps/server/src/kernel/audit/audit.ts';
import type { RequestContext } from '../../apps/server/src/kernel/context.ts';
import { byKey, drive, pick, suite, type Core } from '../lib/engine.ts';
import { fmt } from '../lib/format.ts';
import { resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(g) audit';
/** Events per transaction in the batch variant, as the audit ingest API appends a batch. */
const AUDIT_BATCH = 100;

export const auditSuite: BenchSuite = {
  name: 'audit',
  title,
  keys: ['audit', 'audit-batch', 'audit-one'],
  async run({ options, log, running, seeded }) {
    // recordAudit in a tenant transaction, many tenants in parallel; the rate column counts events.
    const { db } = running.platform;
    const auditContext = (): RequestContext => ({ correlationId: randomUUID(), ip: '127.0.0.1', userAgent: 'tsv-bench', actor: null, reach: 'all', log });
    const appendEvents = (tenantId: string, count: number, i: number) =>
      db.withWholeTenant(tenantId, async (tx) => {
        const ctx = auditContext();
        for (let k = 0; k < count; k++) await recordAudit(tx, ctx, { tenantId, action: 'app.bench.appended', resourceType: 'bench', resourceId: `${i}.${k}` });
      });
    /** drive() with each call appending `count` events: ok counts events, latencies stay per call. */
    const driveAppends = async (seconds: number, count: number, tenantOf: (i: number) => string): Promise<Core> => {
      const core = await drive(options.connections, seconds, (i) => appendEvents(tenantOf(i), count, i));
      return { ...core, ok: core.ok * count, failed: core.failed * count };
    };
    const audit = await suite(
      title,
      [
        {
          key: 'audit',
          label: `one event per tenant transaction, writers spread over ${seeded.tenants.length} tenants' chains`,
          http: false,
          run: (s) => driveAppends(s, 1, (i) => pick(seeded.tenants, i).id),
        },
        {
          key: 'audit-batch',
          label: `${AUDIT_BATCH} events per tenant transaction (an ingest batch), writers spread over the tenants`,
          http: false,
          run: (s) => driveAppends(s, AUDIT_BATCH, (i) => pick(seeded.tenants, i).id),
        },
        {
          key: 'audit-one',
          label: "one event per transaction, every writer on one tenant's chain (its head lock serialises them; reference)",
          http: false,
          run: (s) => driveAppends(s, 1, () => seeded.tenants[0]!.id),
        },
      ],
      options,
    );

    return {
      results: audit,
      report() {
        const auditSpread = byKey(audit, 'audit');
        const auditBatch = byKey(audit, 'audit-batch');
        const auditOne = byKey(audit, 'audit-one');
        return {
          summary: [
            `| (g) audit append, ${seeded.tenants.length} tenants in parallel (events/s) | ${fmt(auditSpread.rps)} | ${fmt(auditSpread.p50, 2)} | ${fmt(auditSpread.p99, 2)} | ${AUDIT_BATCH} events per transaction | ${fmt(auditBatch.rps)} | - | - | - |`,
          ],
          section: `## (g) Audit append throughput

Events appended in this process the way the services append them: \`recordAudit\` inside \`db.withTenant\` (the chain head row is locked, the next
hash computed by PostgreSQL, the event inserted, in one statement), ${options.connections} writers in parallel. The rate column counts **events/s**;
the latencies are per transaction. One event per transaction across ${seeded.tenants.length} tenants' chains ran at **${fmt(auditSpread.rps)} events/s**
(p99 ${fmt(auditSpread.p99, 2)} ms); ${AUDIT_BATCH} events per transaction, as the ingest API appends a batch, at **${fmt(auditBatch.rps)} events/s**; every writer on one
tenant's chain at ${fmt(auditOne.rps)} events/s (the chain head lock serialises appends to one chain, so one tenant's rate is bounded by one
transaction at a time; tenants append in parallel).

${resultTable(title, audit)}`,
          reading: [],
        };
      },
    };
  },
};
