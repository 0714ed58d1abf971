import { sendCsv } from '../../kernel/http/csv.ts';
import type { App } from '../../kernel/http/server.ts';
import { Problem, problemResponses } from '../../kernel/http/schemas.ts';
import { CsvExportQuery, CsvResponse, ExportPage, ExportQuery, IngestBody, IngestResult } from './billing.schemas.ts';
import type { BillingService } from './billing.service.ts';

export function billingRoutes(app: App, billing: BillingService) {
  app.post(
    '/v1/apps/billing-events',
    {
      config: { access: 'app:billing:write', requirements: ['FR-BILL-001', 'FR-BILL-002'] },
      schema: {
        tags: ['applications: billing'],
        summary: 'Report billing events (up to 1,000): duplicates and invalid items are reported per item',
        description:
          'Authenticate with an application key with the scope billing:write (`Authorization: Bearer` or `X-API-Key`). ' +
          'The answer is 200 when every item was accepted or a duplicate, 207 when some were rejected.',
        body: IngestBody,
        response: { 200: IngestResult, 207: IngestResult, ...problemResponses, 413: Problem },
      },
    },
    async (request, reply) => {
      const result = await billing.ingest(request.ctx, request.body);
      return reply.status(result.rejected > 0 ? 207 : 200).send(result);
    },
  );
  app.get(
    '/v1/platform/billing/events',
    {
      config: { access: 'platform.billing.read', requirements: ['FR-BILL-003', 'CON-ARCH-007'] },
      schema: {
        tags: ['platform: billing'],
        summary: "Export a tenant's billing events of a period, a page at a time, with totals per type",
        querystring: ExportQuery,
        response: { 200: ExportPage, ...problemResponses },
      },
    },
    async (request) => billing.exportPage(request.ctx, request.query),
  );
  app.get(
    '/v1/platform/billing/events.csv',
    {
      config: { access: 'platform.billing.read', requirements: ['FR-BILL-003'] },
      schema: {
        tags: ['platform: billing'],
        summary: "Export a tenant's billing events of a period as CSV (streamed)",
        querystring: CsvExportQuery,
        response: { 200: CsvResponse, ...problemResponses },
      },
    },
    async (request, reply) => sendCsv(reply, await billing.exportCsv(request.ctx, request.query)),
  );
}
