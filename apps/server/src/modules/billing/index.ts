export { billingRetentionJob, createBillingService, purgeExpiredBillingEvents, type BillingService } from './billing.service.ts';
export { billingRoutes } from './billing.routes.ts';
