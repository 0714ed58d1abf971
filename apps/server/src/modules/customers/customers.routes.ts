import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses, TenantParams, TenantResourceParams, VersionQuery } from '../../kernel/http/schemas.ts';
import { CreateCustomerBody, Customer, ListCustomersQuery, UpdateCustomerBody } from './customers.schemas.ts';
import type { CustomersService } from './customers.service.ts';

const TAGS = ['customers'];
const BASE = '/v1/tenants/:tenantId/customers';
const REQUIREMENTS = ['CON-ARCH-002', 'FR-TEN-006'];

export function customersRoutes(app: App, customers: CustomersService) {
  app.get(
    BASE,
    {
      config: { access: 'customers.read', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List customers', params: TenantParams, querystring: ListCustomersQuery, response: { 200: Page(Customer), ...problemResponses } },
    },
    async (request) => customers.list(request.ctx, request.query),
  );
  app.post(
    BASE,
    {
      config: { access: 'customers.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Create a customer', params: TenantParams, body: CreateCustomerBody, response: { 201: Customer, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await customers.create(request.ctx, request.body)),
  );
  app.get(
    `${BASE}/:id`,
    {
      config: { access: 'customers.read', requirements: [...REQUIREMENTS, 'FR-AUD-005'], auditRead: { resourceType: 'customer' } },
      schema: { tags: TAGS, summary: 'Get a customer', params: TenantResourceParams, response: { 200: Customer, ...problemResponses } },
    },
    async (request) => customers.get(request.ctx, request.params.id),
  );
  app.patch(
    `${BASE}/:id`,
    {
      config: { access: 'customers.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Change a customer (optimistic concurrency)', params: TenantResourceParams, body: UpdateCustomerBody, response: { 200: Customer, ...problemResponses } },
    },
    async (request) => customers.update(request.ctx, request.params.id, request.body),
  );
  app.delete(
    `${BASE}/:id`,
    {
      config: { access: 'customers.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Delete a customer (soft)', params: TenantResourceParams, querystring: VersionQuery, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await customers.remove(request.ctx, request.params.id, request.query.version);
      return reply.status(204).send(null);
    },
  );
}
