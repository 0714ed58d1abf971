import type { App } from '../../kernel/http/server.ts';
import { Page, problemResponses } from '../../kernel/http/schemas.ts';
import { DeadLetter, DeadLetterParams, ListDeadLettersQuery } from './dead-letters.schemas.ts';
import type { DeadLettersService } from './dead-letters.service.ts';

const BASE = '/v1/platform/dead-letters';
const TAGS = ['ops'];

export function deadLettersRoutes(app: App, deadLetters: DeadLettersService) {
  app.get(
    BASE,
    {
      config: { access: 'platform.jobs.read', requirements: ['FR-TEN-007', 'NFR-OPS-001'] },
      schema: {
        tags: TAGS,
        summary: 'List the jobs that failed every attempt or were refused for their tenant, in the order they failed',
        querystring: ListDeadLettersQuery,
        response: { 200: Page(DeadLetter), ...problemResponses },
      },
    },
    async (request) => deadLetters.list(request.ctx, request.query),
  );
  app.post(
    `${BASE}/:id/replay`,
    {
      config: { access: 'platform.jobs.replay', requirements: ['FR-TEN-007', 'NFR-OPS-001'] },
      schema: {
        tags: TAGS,
        summary: 'Run a dead-lettered job again with its payload, in the tenant that enqueued it; the dead letter is removed',
        params: DeadLetterParams,
        response: { 202: DeadLetter, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(202).send(await deadLetters.replay(request.ctx, request.params.id)),
  );
}
