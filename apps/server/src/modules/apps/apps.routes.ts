import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses } from '../../kernel/http/schemas.ts';
import {
  AppKeyParams,
  Application,
  ApplicationKeyList,
  AppParams,
  IssuedApplicationKey,
  IssueKeyBody,
  ListApplicationsQuery,
  RegisterApplicationBody,
} from './apps.schemas.ts';
import type { AppsService } from './apps.service.ts';

const TAGS = ['platform: applications'];
const BASE = '/v1/platform/apps';

export function appsRoutes(app: App, apps: AppsService) {
  app.post(
    BASE,
    {
      config: { access: 'platform.apps.write', requirements: ['FR-SYS-001', 'CON-ARCH-007'] },
      schema: { tags: TAGS, summary: 'Register a managed application', body: RegisterApplicationBody, response: { 201: Application, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await apps.register(request.ctx, request.body)),
  );
  app.get(
    BASE,
    {
      config: { access: 'platform.apps.read', requirements: ['FR-SYS-001'] },
      schema: { tags: TAGS, summary: 'List managed applications', querystring: ListApplicationsQuery, response: { 200: Page(Application), ...problemResponses } },
    },
    async (request) => apps.list(request.ctx, request.query),
  );
  app.get(
    `${BASE}/:appId`,
    {
      config: { access: 'platform.apps.read', requirements: ['FR-SYS-001'] },
      schema: { tags: TAGS, summary: 'Get a managed application', params: AppParams, response: { 200: Application, ...problemResponses } },
    },
    async (request) => apps.get(request.ctx, request.params.appId),
  );
  app.post(
    `${BASE}/:appId/disable`,
    {
      config: { access: 'platform.apps.write', requirements: ['FR-SYS-003'] },
      schema: { tags: TAGS, summary: 'Disable an application: every call with its keys is refused at once', params: AppParams, response: { 200: Application, ...problemResponses } },
    },
    async (request) => apps.disable(request.ctx, request.params.appId),
  );
  app.post(
    `${BASE}/:appId/enable`,
    {
      config: { access: 'platform.apps.write', requirements: ['FR-SYS-003'] },
      schema: { tags: TAGS, summary: 'Enable a disabled application again', params: AppParams, response: { 200: Application, ...problemResponses } },
    },
    async (request) => apps.enable(request.ctx, request.params.appId),
  );
  app.post(
    `${BASE}/:appId/keys`,
    {
      config: { access: 'platform.apps.write', requirements: ['FR-SYS-002'] },
      schema: {
        tags: TAGS,
        summary: 'Issue a key (the secret is shown once); rotation: issue a new key, then revoke the old one',
        params: AppParams,
        body: IssueKeyBody,
        response: { 201: IssuedApplicationKey, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await apps.issueKey(request.ctx, request.params.appId, request.body)),
  );
  app.get(
    `${BASE}/:appId/keys`,
    {
      config: { access: 'platform.apps.read', requirements: ['FR-SYS-002'] },
      schema: { tags: TAGS, summary: "List an application's keys (never their secrets)", params: AppParams, response: { 200: ApplicationKeyList, ...problemResponses } },
    },
    async (request) => apps.listKeys(request.ctx, request.params.appId),
  );
  app.delete(
    `${BASE}/:appId/keys/:keyId`,
    {
      config: { access: 'platform.apps.write', requirements: ['FR-SYS-002'] },
      schema: { tags: TAGS, summary: 'Revoke a key: refused on every node at once', params: AppKeyParams, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await apps.revokeKey(request.ctx, request.params.appId, request.params.keyId);
      return reply.status(204).send(null);
    },
  );
}
