/**
 * (h) Billing ingest: POST /v1/apps/billing-events through the full stack with an application key;
 * each batch holds BILLING_BATCH new events, built in this process just before it is sent. The
 * rate column counts events.
 */
import { randomUUID } from 'node:crypto';
import { byKey, drive, pick, suite, type Core } from '../lib/engine.ts';
import { fmt } from '../lib/format.ts';
import { resultTable } from '../lib/report.ts';
import type { BenchSuite } from '../lib/suite.ts';
import { systemContext } from '../lib/system-context.ts';

const title = '(h) billing';
/** Events per batch (the API's maximum), batches in flight, tenants per batch in the spread variant. */
const BILLING_BATCH = 1000;
const BILLING_CONNECTIONS = 4;
const BILLING_SPREAD = 20;

export const billingSuite: BenchSuite = {
  name: 'billing',
  title,
  keys: ['billing', 'billing-spread', 'billing-duplicates'],
  async run({ options, log, running, seeded, appUrl }) {
    const { key: billingKey } = await running.services.apps.registerWithKey(
      systemContext(log),
      { name: 'Bench metering', environment: 'production', owner: 'bench@example.com' },
      { scopes: ['billing:write'] },
    );
    const spread = Math.min(BILLING_SPREAD, seeded.tenants.length);
    /** The i-th batch: new idempotency ids, over `tenantsPerBatch` tenants taken in turn. */
    const billingBatch = (tenantsPerBatch: number, i: number) => {
      const occurredAt = new Date().toISOString();
      const events = Array.from({ length: BILLING_BATCH }, (_, k) => ({
        idempotency_id: randomUUID(),
        tenant_id: pick(seeded.tenants, i * tenantsPerBatch + (k % tenantsPerBatch)).id,
        type: k % 2 ? 'api.calls' : 'storage.gb_hours',
        quantity: (k % 7) + 0.5,
        occurred_at: occurredAt,
      }));
      return JSON.stringify({ events });
    };
    const postBatch = async (body: string, expect: 'accepted' | 'duplicates') => {
      const response = await fetch(`${appUrl}/v1/apps/billing-events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${billingKey.secret}`, 'content-type': 'application/json' },
        body,
      });
      const result = (await response.json()) as Record<string, unknown>;
      if (response.status !== 200 || result[expect] !== BILLING_BATCH) throw new Error(`billing ingest answered ${response.status}`);
    };
    /** drive() with each call sending one batch: ok counts events, latencies stay per batch. */
    const driveBatches = async (seconds: number, send: (i: number) => Promise<void>): Promise<Core> => {
      const core = await drive(BILLING_CONNECTIONS, seconds, send);
      return { ...core, ok: core.ok * BILLING_BATCH, failed: core.failed * BILLING_BATCH };
    };
    const resent = billingBatch(1, 0);
    await postBatch(resent, 'accepted');
    const billing = await suite(
      title,
      [
        {
          key: 'billing',
          label: `batches of ${BILLING_BATCH} new events, one tenant per batch (one transaction and audit event per batch)`,
          http: false,
          run: (s) => driveBatches(s, (i) => postBatch(billingBatch(1, i), 'accepted')),
        },
        {
          key: 'billing-spread',
          label: `batches of ${BILLING_BATCH} new events over ${spread} tenants (a transaction and an audit event per tenant)`,
          http: false,
          run: (s) => driveBatches(s, (i) => postBatch(billingBatch(spread, i), 'accepted')),
        },
        {
          key: 'billing-duplicates',
          label: `one batch of ${BILLING_BATCH} sent again and again: every event a duplicate (reference)`,
          http: false,
          run: (s) => driveBatches(s, () => postBatch(resent, 'duplicates')),
        },
      ],
      options,
    );

    return {
      results: billing,
      report() {
        const billingOne = byKey(billing, 'billing');
        const billingSpread = byKey(billing, 'billing-spread');
        const billingDuplicates = byKey(billing, 'billing-duplicates');
        return {
          summary: [
            `| (h) billing ingest, batches of ${BILLING_BATCH} (events/s; ms per batch) | ${fmt(billingOne.rps)} | ${fmt(billingOne.p50, 2)} | ${fmt(billingOne.p99, 2)} | the same spread over tenants | ${fmt(billingSpread.rps)} | - | - | - |`,
          ],
          section: `## (h) Billing ingest

POST /v1/apps/billing-events through the full stack with an application key (\`billing:write\`): the key checked (from the node's key cache), each
event checked on its own, then per tenant of the batch one transaction that inserts the events (\`on conflict do nothing\` on the idempotency key)
and appends one \`billing.events_ingested\` audit event. ${BILLING_CONNECTIONS} batches in flight from this process (which builds each batch of ${BILLING_BATCH} new events just before
sending it, so it shares its CPU with the server). The rate column counts **events/s**; the latencies are per batch. One tenant per batch:
**${fmt(billingOne.rps)} events/s** (p99 ${fmt(billingOne.p99, 1)} ms per batch); the same events spread over ${Math.min(BILLING_SPREAD, seeded.tenants.length)} tenants per batch: ${fmt(billingSpread.rps)} events/s;
a batch whose events are all duplicates: ${fmt(billingDuplicates.rps)} events/s.

${resultTable(title, billing)}`,
          reading: [],
        };
      },
    };
  },
};
