import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses, TenantParams, TenantResourceParams, VersionQuery } from '../../kernel/http/schemas.ts';
import { CreateOrderBody, ListOrdersQuery, Order, UpdateOrderBody } from './orders.schemas.ts';
import type { OrdersService } from './orders.service.ts';

const TAGS = ['orders'];
const BASE = '/v1/tenants/:tenantId/orders';
const REQUIREMENTS = ['CON-ARCH-002', 'FR-TEN-006'];

export function ordersRoutes(app: App, orders: OrdersService) {
  app.get(
    BASE,
    {
      config: { access: 'orders.read', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List orders', params: TenantParams, querystring: ListOrdersQuery, response: { 200: Page(Order), ...problemResponses } },
    },
    async (request) => orders.list(request.ctx, request.query),
  );
  app.post(
    BASE,
    {
      config: { access: 'orders.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Create an order', params: TenantParams, body: CreateOrderBody, response: { 201: Order, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await orders.create(request.ctx, request.body)),
  );
  app.get(
    `${BASE}/:id`,
    {
      config: { access: 'orders.read', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'Get an order', params: TenantResourceParams, response: { 200: Order, ...problemResponses } },
    },
    async (request) => orders.get(request.ctx, request.params.id),
  );
  app.patch(
    `${BASE}/:id`,
    {
      config: { access: 'orders.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Change an order (optimistic concurrency)', params: TenantResourceParams, body: UpdateOrderBody, response: { 200: Order, ...problemResponses } },
    },
    async (request) => orders.update(request.ctx, request.params.id, request.body),
  );
  app.delete(
    `${BASE}/:id`,
    {
      config: { access: 'orders.write', requirements: REQUIREMENTS, impersonation: 'allowed' },
      schema: { tags: TAGS, summary: 'Delete an order (soft)', params: TenantResourceParams, querystring: VersionQuery, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await orders.remove(request.ctx, request.params.id, request.query.version);
      return reply.status(204).send(null);
    },
  );
}
