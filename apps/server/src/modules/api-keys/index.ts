export { API_KEYS_CHANNEL, ApiKeyVerifier } from './api-key-verifier.ts';
export { apiKeysRoutes } from './api-keys.routes.ts';
export { createApiKeysService, type ApiKeysService } from './api-keys.service.ts';
