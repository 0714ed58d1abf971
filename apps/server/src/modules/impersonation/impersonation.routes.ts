import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses } from '../../kernel/http/schemas.ts';
import { Impersonation, ImpersonationParams, ImpersonationStarted, ListImpersonationsQuery, StartImpersonationBody } from './impersonation.schemas.ts';
import type { ImpersonationService } from './impersonation.service.ts';

const TAGS = ['platform: impersonation'];
const BASE = '/v1/platform/impersonations';
const REQUIREMENTS = ['FR-RBAC-005', 'FR-AUD-001', 'CON-ARCH-007'];

export function impersonationRoutes(app: App, impersonation: ImpersonationService) {
  app.post(
    BASE,
    {
      // The answer is a credential: never stored for an Idempotency-Key replay.
      config: { access: 'platform.impersonate', requirements: REQUIREMENTS, idempotency: false },
      schema: {
        tags: TAGS,
        summary: 'Act as a tenant user for up to 30 minutes, with a reason (no refresh token)',
        body: StartImpersonationBody,
        response: { 201: ImpersonationStarted, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await impersonation.start(request.signedIn, request.body)),
  );
  app.get(
    BASE,
    {
      config: { access: 'platform.impersonate', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List active and past impersonations, newest first', querystring: ListImpersonationsQuery, response: { 200: Page(Impersonation), ...problemResponses } },
    },
    async (request) => impersonation.list(request.ctx, request.query),
  );
  app.delete(
    `${BASE}/:id`,
    {
      config: { access: 'platform.impersonate', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'End an impersonation now, on every node', params: ImpersonationParams, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await impersonation.end(request.signedIn, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
