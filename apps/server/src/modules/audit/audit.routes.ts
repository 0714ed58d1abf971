import { sendCsv } from '../../kernel/http/csv.ts';
import type { App } from '../../kernel/http/server.ts';
import { problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import {
  AuditEventPage,
  CsvResponse,
  ExportQuery,
  IngestBody,
  IngestResult,
  PlatformExportQuery,
  PlatformSearchQuery,
  SearchQuery,
} from './audit.schemas.ts';
import type { AuditService } from './audit.service.ts';

const TAGS = ['audit'];
const PLATFORM_TAGS = ['platform: audit'];
const TENANT_BASE = '/v1/tenants/:tenantId/audit-events';
const PLATFORM_BASE = '/v1/platform/audit-events';
const SEARCH_REQUIREMENTS = ['FR-AUD-001', 'FR-AUD-006'];
const EXPORT_REQUIREMENTS = ['FR-AUD-001', 'FR-LOG-002'];

export function auditRoutes(app: App, audit: AuditService) {
  app.get(
    TENANT_BASE,
    {
      config: { access: 'audit.read', requirements: SEARCH_REQUIREMENTS },
      schema: {
        tags: TAGS,
        summary: 'Search the organization audit log (category=security for security events), newest first',
        params: TenantParams,
        querystring: SearchQuery,
        response: { 200: AuditEventPage, ...problemResponses },
      },
    },
    async (request) => audit.search(request.ctx, request.query),
  );
  app.get(
    `${TENANT_BASE}.csv`,
    {
      config: { access: 'audit.export', requirements: EXPORT_REQUIREMENTS },
      schema: {
        tags: TAGS,
        summary: 'Export the organization audit log as CSV (the export is itself audited)',
        params: TenantParams,
        querystring: ExportQuery,
        response: { 200: CsvResponse, ...problemResponses },
      },
    },
    async (request, reply) => sendCsv(reply, await audit.exportCsv(request.ctx, request.query)),
  );
  app.post(
    TENANT_BASE,
    {
      config: { access: 'app:audit:write', requirements: ['FR-LOG-001', 'FR-AUD-002'] },
      schema: {
        tags: TAGS,
        summary: 'Append a batch of events of a managed application (application key with scope audit:write; idempotent by event id)',
        params: TenantParams,
        body: IngestBody,
        response: { 200: IngestResult, ...problemResponses },
      },
    },
    async (request) => audit.ingest(request.ctx, request.params.tenantId, request.body),
  );
  app.get(
    PLATFORM_BASE,
    {
      config: { access: 'platform.audit.read', requirements: [...SEARCH_REQUIREMENTS, 'CON-ARCH-007'] },
      schema: {
        tags: PLATFORM_TAGS,
        summary: 'Search the platform chain and every tenant log (audit evidence only), newest first',
        querystring: PlatformSearchQuery,
        response: { 200: AuditEventPage, ...problemResponses },
      },
    },
    async (request) => audit.platformSearch(request.ctx, request.query),
  );
  app.get(
    `${PLATFORM_BASE}.csv`,
    {
      config: { access: 'platform.audit.export', requirements: [...EXPORT_REQUIREMENTS, 'CON-ARCH-007'] },
      schema: {
        tags: PLATFORM_TAGS,
        summary: 'Export the platform view of the audit logs as CSV (the export is itself audited)',
        querystring: PlatformExportQuery,
        response: { 200: CsvResponse, ...problemResponses },
      },
    },
    async (request, reply) => sendCsv(reply, await audit.platformExportCsv(request.ctx, request.query)),
  );
}
