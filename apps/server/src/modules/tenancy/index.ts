import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import type { VerificationService } from '../verification/index.ts';
import { createTenancyService } from './tenancy.service.ts';
import { tenantDirectory } from './tenancy.queries.ts';
import { tenancyRoutes } from './tenancy.routes.ts';
export { createTenancyService, type TenancyService } from './tenancy.service.ts';
export { tenancyRoutes } from './tenancy.routes.ts';
export { findTenantById, findTenantBySlug, listTenantIds, tenantDirectory, tenantIdsInRegion } from './tenancy.queries.ts';

const declared = {
  permissions: {
    'plan.manage': { plane: 'tenant', description: 'Change the organization plan', sensitive: true },
    'platform.tenants.read': { plane: 'platform', description: 'Read tenants', roles: ['operator', 'support', 'auditor'] },
    'platform.tenants.write': { plane: 'platform', description: 'Create, change, suspend and reactivate tenants', grantsAccess: true, roles: ['operator'] },
  },
  auditActions: ['tenant.created', 'tenant.updated', 'tenant.suspended', 'tenant.reactivated', 'tenant.plan_changed'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    tenancy: typeof declared;
  }
}

export const tenancyModule = defineModule({
  name: 'tenancy',
  summary: "Tenants and their lifecycle; a new tenant's first Owner comes from identity.",
  dependsOn: ['identity', 'verification'],
  tables: ['tenants'],
  ...declared,
  create(platform, deps: { identity: IdentityService; verification: VerificationService }) {
    const service = createTenancyService(platform, deps.identity, deps.verification);
    return { service, routes: (app) => tenancyRoutes(app, service), provides: { tenants: tenantDirectory } };
  },
});
