import type { App } from '../../kernel/http/server.ts';
import { problemResponses, TenantParams, TenantResourceParams } from '../../kernel/http/schemas.ts';
import { ApiKeyList, CreateApiKeyBody, IssuedApiKey, RotateApiKeyBody } from './api-keys.schemas.ts';
import type { ApiKeysService } from './api-keys.service.ts';

const TAGS = ['api-keys'];
const BASE = '/v1/tenants/:tenantId/api-keys';
const REQUIREMENTS = ['FR-AUTH-012'];

export function apiKeysRoutes(app: App, apiKeys: ApiKeysService) {
  app.get(
    BASE,
    {
      config: { access: 'api_keys.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List API keys (never their secrets)', params: TenantParams, response: { 200: ApiKeyList, ...problemResponses } },
    },
    async (request) => apiKeys.list(request.ctx),
  );
  app.post(
    BASE,
    {
      config: { access: 'api_keys.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'Create an API key (the secret is shown once)', params: TenantParams, body: CreateApiKeyBody, response: { 201: IssuedApiKey, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await apiKeys.create(request.signedIn, request.body)),
  );
  app.post(
    `${BASE}/:id/rotate`,
    {
      config: { access: 'api_keys.manage', requirements: REQUIREMENTS },
      schema: {
        tags: TAGS,
        summary: 'Rotate an API key: a new key, the old one valid until the overlap ends',
        params: TenantResourceParams,
        body: RotateApiKeyBody,
        response: { 201: IssuedApiKey, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await apiKeys.rotate(request.signedIn, request.params.id, request.body ?? {})),
  );
  app.delete(
    `${BASE}/:id`,
    {
      config: { access: 'api_keys.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'Revoke an API key (at once, on every node)', params: TenantResourceParams, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await apiKeys.revoke(request.signedIn, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
