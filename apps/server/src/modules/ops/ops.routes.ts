import { sql } from 'kysely';
import { Type } from 'typebox';
import { migrationsCurrent } from '../../kernel/db/migrate.ts';
import type { App } from '../../kernel/http/server.ts';
import { problemResponses } from '../../kernel/http/schemas.ts';
import type { Platform } from '../../kernel/platform.ts';
import { HealthReport } from './ops.schemas.ts';
import type { HealthService } from './ops.service.ts';

const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });

export function opsRoutes(app: App, platform: Platform, health: HealthService) {
  app.get(
    '/healthz',
    { config: { access: 'public', requirements: ['FR-SYS-005', 'NFR-OPS-001'] }, schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Health } } },
    async () => ({ status: 'ok' }),
  );

  /** Ready when the database answers as the app role and every migration is applied. */
  app.get(
    '/readyz',
    {
      config: { access: 'public', requirements: ['FR-SYS-005', 'NFR-OPS-001'] },
      schema: { tags: ['ops'], summary: 'Readiness', response: { 200: Health, 503: Health } },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      try {
        await platform.db.withPlatform((tx) => sql`select 1`.execute(tx));
        checks.database = 'ok';
        checks.migrations = (await migrationsCurrent(platform.db)) ? 'ok' : 'pending';
      } catch {
        checks.database = 'unreachable';
      }
      const ready = Object.values(checks).every((value) => value === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
    },
  );

  /** For operators: dependencies, queue depths, error rate and p99 per route family (FR-SYS-005). */
  app.get(
    '/v1/platform/health',
    {
      config: { access: 'platform.health.read', requirements: ['FR-SYS-005'] },
      schema: { tags: ['ops'], summary: 'Platform health: dependencies, queues, error rate and p99 latency over 5 minutes', response: { 200: HealthReport, ...problemResponses } },
    },
    async (request) => health.report(request.ctx),
  );
  app.addHook('onClose', async () => health.close());
}
