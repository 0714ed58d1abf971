import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { createOrdersService, orderSummaryJob } from './orders.service.ts';
import { ordersRoutes } from './orders.routes.ts';
export { createOrdersService, orderSummaryJob, type OrdersService } from './orders.service.ts';
export { ordersRoutes } from './orders.routes.ts';

const declared = {
  permissions: {
    'orders.read': { plane: 'tenant', description: 'Read orders', roles: ['admin', 'member', 'readonly'] },
    'orders.write': { plane: 'tenant', description: 'Create, change and delete orders', roles: ['admin', 'member'] },
  },
  auditActions: ['order.created', 'order.updated', 'order.deleted'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    orders: typeof declared;
  }
}

export const ordersModule = defineModule({
  name: 'orders',
  summary: "The sample business module's orders, summarised onto their customer by a job.",
  dependsOn: [],
  tables: ['orders'],
  ...declared,
  jobs: [orderSummaryJob],
  create(platform) {
    const service = createOrdersService(platform);
    return { service, routes: (app) => ordersRoutes(app, service) };
  },
});
