import { decodeRevocation, SESSION_CHANNEL } from '../../kernel/auth/session-cache.ts';
import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { API_KEYS_CHANNEL, ApiKeyVerifier } from './api-key-verifier.ts';
import { apiKeysRoutes } from './api-keys.routes.ts';
import { createApiKeysService } from './api-keys.service.ts';
export { API_KEYS_CHANNEL, ApiKeyVerifier } from './api-key-verifier.ts';
export { apiKeysRoutes } from './api-keys.routes.ts';
export { createApiKeysService, type ApiKeysService } from './api-keys.service.ts';

const declared = {
  permissions: {
    'api_keys.manage': { plane: 'tenant', description: 'Create, rotate and revoke API keys', sensitive: true, grantsAccess: true, roles: ['admin'] },
  },
  auditActions: ['api_key.created', 'api_key.revoked', 'api_key.rotated'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    'api-keys': typeof declared;
  }
}

export const apiKeysModule = defineModule({
  name: 'api-keys',
  summary: "Tenant API keys in `X-API-Key`, scoped to their creator's grants and cached per node.",
  dependsOn: [],
  tables: ['api_keys'],
  ...declared,
  async create(platform) {
    const { db, log, config } = platform;
    const verifier = new ApiKeyVerifier(db, log, config.sessionCacheTtlMs);
    // A key follows its own channel and the sessions channel (roles, creators, tenants). After a
    // lost listener, notifications may have been missed: forget everything.
    const stopListeningForSessions = await db.listen(
      SESSION_CHANNEL,
      (payload) => verifier.applySessionChange(decodeRevocation(payload)),
      () => verifier.clear(),
    );
    const stopListeningForKeys = await db.listen(
      API_KEYS_CHANNEL,
      (payload) => verifier.applyKeyChange(payload),
      () => verifier.clear(),
    );
    const service = createApiKeysService(platform);
    return {
      service,
      routes: (app) => apiKeysRoutes(app, service),
      provides: { apiKeys: verifier },
      async stop() {
        await stopListeningForSessions();
        await stopListeningForKeys();
      },
    };
  },
});
