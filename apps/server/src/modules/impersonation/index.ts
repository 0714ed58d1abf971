import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { createImpersonationService } from './impersonation.service.ts';
import { impersonationRoutes } from './impersonation.routes.ts';
export { createImpersonationService, type ImpersonationService } from './impersonation.service.ts';
export { impersonationRoutes } from './impersonation.routes.ts';

const declared = {
  permissions: {
    'platform.impersonate': { plane: 'platform', description: 'Act as a tenant user for support, with a reason', sensitive: true, grantsAccess: true, roles: ['support'] },
  },
  auditActions: ['impersonation.started', 'impersonation.ended'],
  problems: {
    'cannot-impersonate-staff': [403, 'Platform staff cannot be impersonated'],
    'impersonation-active': [409, 'An impersonation of this user is already active'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    impersonation: typeof declared;
  }
}

export const impersonationModule = defineModule({
  name: 'impersonation',
  summary: "Support staff acting as a tenant's user, time-boxed, consented and audited.",
  dependsOn: [],
  tables: ['impersonations'],
  ...declared,
  create(platform) {
    const service = createImpersonationService(platform);
    return { service, routes: (app) => impersonationRoutes(app, service) };
  },
});
