import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import { ChangePlanBody, CreateTenantBody, ListTenantsQuery, Tenant, TenantIdParams, UpdateTenantBody } from './tenancy.schemas.ts';
import type { TenancyService } from './tenancy.service.ts';

const TAGS = ['platform: tenants'];

export function tenancyRoutes(app: App, tenants: TenancyService) {
  app.post(
    '/v1/platform/tenants',
    {
      config: { access: 'platform.tenants.write', requirements: ['FR-TEN-001', 'UC-PROV-001', 'CON-ARCH-007'] },
      schema: { tags: TAGS, summary: 'Create a tenant with its first Owner', body: CreateTenantBody, response: { 201: Tenant, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await tenants.create(request.ctx, request.body)),
  );
  app.get(
    '/v1/platform/tenants',
    {
      config: { access: 'platform.tenants.read', requirements: ['FR-TEN-001'] },
      schema: { tags: TAGS, summary: 'List tenants', querystring: ListTenantsQuery, response: { 200: Page(Tenant), ...problemResponses } },
    },
    async (request) => tenants.list(request.ctx, request.query),
  );
  app.get(
    '/v1/platform/tenants/:id',
    {
      config: { access: 'platform.tenants.read', requirements: ['FR-TEN-001'] },
      schema: { tags: TAGS, summary: 'Get a tenant', params: TenantIdParams, response: { 200: Tenant, ...problemResponses } },
    },
    async (request) => tenants.get(request.ctx, request.params.id),
  );
  app.patch(
    '/v1/platform/tenants/:id',
    {
      config: { access: 'platform.tenants.write', requirements: ['FR-TEN-001'] },
      schema: { tags: TAGS, summary: 'Change a tenant', params: TenantIdParams, body: UpdateTenantBody, response: { 200: Tenant, ...problemResponses } },
    },
    async (request) => tenants.update(request.ctx, request.params.id, request.body),
  );
  app.post(
    '/v1/platform/tenants/:id/suspend',
    {
      config: { access: 'platform.tenants.write', requirements: ['FR-TEN-002', 'FR-OPS-001'] },
      schema: { tags: TAGS, summary: 'Suspend a tenant: every session ends at once', params: TenantIdParams, response: { 200: Tenant, ...problemResponses } },
    },
    async (request) => tenants.suspend(request.ctx, request.params.id),
  );
  app.post(
    '/v1/platform/tenants/:id/reactivate',
    {
      config: { access: 'platform.tenants.write', requirements: ['FR-TEN-002'] },
      schema: { tags: TAGS, summary: 'Reactivate a suspended tenant', params: TenantIdParams, response: { 200: Tenant, ...problemResponses } },
    },
    async (request) => tenants.reactivate(request.ctx, request.params.id),
  );
  app.put(
    '/v1/tenants/:tenantId/plan',
    {
      config: { access: 'plan.manage', requirements: ['FR-TENANT-003'] },
      schema: { tags: ['tenant'], summary: "Change the organization's plan (Owners only)", params: TenantParams, body: ChangePlanBody, response: { 200: Tenant, ...problemResponses } },
    },
    async (request) => tenants.changePlan(request.ctx, request.params.tenantId, request.body.plan),
  );
}
