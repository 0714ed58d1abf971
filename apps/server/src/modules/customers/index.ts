import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { createCustomersService } from './customers.service.ts';
import { customersRoutes } from './customers.routes.ts';
export { createCustomersService, type CustomersService } from './customers.service.ts';
export { customersRoutes } from './customers.routes.ts';
export { setOrderSummary, findCustomerById } from './customers.queries.ts';

const declared = {
  permissions: {
    'customers.read': { plane: 'tenant', description: 'Read customers', roles: ['admin', 'member', 'readonly'] },
    'customers.write': { plane: 'tenant', description: 'Create, change and delete customers', roles: ['admin', 'member'] },
  },
  auditActions: ['customer.created', 'customer.updated', 'customer.deleted'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    customers: typeof declared;
  }
}

export const customersModule = defineModule({
  name: 'customers',
  summary: 'The sample business module: customers of a tenant, per unit.',
  dependsOn: [],
  tables: ['customers'],
  ...declared,
  create(platform) {
    const service = createCustomersService(platform);
    return { service, routes: (app) => customersRoutes(app, service) };
  },
});
