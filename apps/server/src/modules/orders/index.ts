import { defineModule } from '../../kernel/module.ts';
import { createOrdersService, orderSummaryJob } from './orders.service.ts';
import { ordersRoutes } from './orders.routes.ts';
export { createOrdersService, orderSummaryJob, type OrdersService } from './orders.service.ts';
export { ordersRoutes } from './orders.routes.ts';

export const ordersModule = defineModule({
  name: 'orders',
  summary: "The sample business module's orders, summarised onto their customer by a job.",
  dependsOn: [],
  tables: ['orders'],
  jobs: [orderSummaryJob],
  create(platform) {
    const service = createOrdersService(platform);
    return { service, routes: (app) => ordersRoutes(app, service) };
  },
});
