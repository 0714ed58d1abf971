export { createCustomersService, type CustomersService } from './customers.service.ts';
export { customersRoutes } from './customers.routes.ts';
export { setOrderSummary, findCustomerById } from './customers.queries.ts';
