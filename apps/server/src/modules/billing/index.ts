import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { billingRetentionJob, createBillingService } from './billing.service.ts';
import { billingRoutes } from './billing.routes.ts';
export { billingRetentionJob, createBillingService, purgeExpiredBillingEvents, type BillingService } from './billing.service.ts';
export { billingRoutes } from './billing.routes.ts';

const declared = {
  permissions: {
    'platform.billing.read': { plane: 'platform', description: 'Export billing events', roles: ['operator'] },
  },
  auditActions: ['billing.events_ingested', 'billing.exported'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    billing: typeof declared;
  }
}

export const billingModule = defineModule({
  name: 'billing',
  summary: 'Usage events reported by managed applications, kept for their retention period.',
  dependsOn: [],
  tables: ['billing_events'],
  ...declared,
  jobs: [billingRetentionJob],
  create(platform) {
    const service = createBillingService(platform);
    return { service, routes: (app) => billingRoutes(app, service) };
  },
});
