import { defineModule } from '../../kernel/module.ts';
import { billingRetentionJob, createBillingService } from './billing.service.ts';
import { billingRoutes } from './billing.routes.ts';
export { billingRetentionJob, createBillingService, purgeExpiredBillingEvents, type BillingService } from './billing.service.ts';
export { billingRoutes } from './billing.routes.ts';

/** Usage events reported by managed applications, kept for their retention period (FR-SYS-004). */
export const billingModule = defineModule({
  name: 'billing',
  dependsOn: [],
  tables: ['billing_events'],
  jobs: [billingRetentionJob],
  create(platform) {
    const service = createBillingService(platform);
    return { service, routes: (app) => billingRoutes(app, service) };
  },
});
