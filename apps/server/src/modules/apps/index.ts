import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { APP_KEYS_CHANNEL, AppKeyVerifier, decodeAppKeyChange } from './app-keys.ts';
import { appsRoutes } from './apps.routes.ts';
import { createAppsService } from './apps.service.ts';
export { createAppsService, type AppsService } from './apps.service.ts';
export { IssueKeyBody, RegisterApplicationBody, type IssueKeyInput, type RegisterApplicationInput } from './apps.schemas.ts';
export { appsRoutes } from './apps.routes.ts';
export { APP_KEYS_CHANNEL, AppKeyVerifier, appMayActFor, decodeAppKeyChange } from './app-keys.ts';

const declared = {
  permissions: {
    'platform.apps.read': { plane: 'platform', description: 'Read managed applications and their keys', roles: ['operator'] },
    'platform.apps.write': { plane: 'platform', description: 'Register, disable managed applications and issue keys', sensitive: true, grantsAccess: true, roles: ['operator'] },
  },
  auditActions: ['application.registered', 'application.disabled', 'application.enabled', 'application.key_issued', 'application.key_revoked'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    apps: typeof declared;
  }
}

export const appsModule = defineModule({
  name: 'apps',
  summary: "Managed applications and their keys, the control plane's clients.",
  dependsOn: [],
  tables: ['applications', 'application_keys'],
  ...declared,
  async create(platform) {
    const { db, log } = platform;
    // Revocations and disabled applications reach every node's cache by NOTIFY.
    const keys = new AppKeyVerifier(db, log);
    const stopListening = await db.listen(
      APP_KEYS_CHANNEL,
      (payload) => keys.apply(decodeAppKeyChange(payload)),
      () => keys.apply({ kind: 'all' }),
    );
    const service = createAppsService(platform, keys);
    return { service, routes: (app) => appsRoutes(app, service), provides: { applicationKeys: keys }, stop: stopListening };
  },
});
