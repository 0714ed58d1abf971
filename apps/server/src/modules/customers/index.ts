import { defineModule } from '../../kernel/module.ts';
import { createCustomersService } from './customers.service.ts';
import { customersRoutes } from './customers.routes.ts';
export { createCustomersService, type CustomersService } from './customers.service.ts';
export { customersRoutes } from './customers.routes.ts';
export { setOrderSummary, findCustomerById } from './customers.queries.ts';

export const customersModule = defineModule({
  name: 'customers',
  summary: 'The sample business module: customers of a tenant, per unit.',
  dependsOn: [],
  tables: ['customers'],
  create(platform) {
    const service = createCustomersService(platform);
    return { service, routes: (app) => customersRoutes(app, service) };
  },
});
