import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { deadLettersRoutes } from './dead-letters.routes.ts';
import { createDeadLettersService } from './dead-letters.service.ts';
import { opsRoutes } from './ops.routes.ts';
import { createHealthService } from './ops.service.ts';
export { deadLettersRoutes } from './dead-letters.routes.ts';
export { createDeadLettersService, type DeadLettersService } from './dead-letters.service.ts';
export { opsRoutes } from './ops.routes.ts';
export { createHealthService, type HealthService } from './ops.service.ts';

const declared = {
  permissions: {
    'platform.health.read': { plane: 'platform', description: 'Read platform health, queue depths and error rates', roles: ['operator', 'support'] },
    'platform.jobs.read': { plane: 'platform', description: 'List dead-lettered jobs: queue, tenant, error and attempts, never their payloads', roles: ['operator'] },
    'platform.jobs.replay': { plane: 'platform', description: 'Replay a dead-lettered job in the tenant that enqueued it', roles: ['operator'] },
  },
  auditActions: ['job.replayed'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    ops: typeof declared;
  }
}

export const opsModule = defineModule({
  name: 'ops',
  summary: 'Liveness, readiness, the health report and the dead-letter queue.',
  dependsOn: [],
  tables: [],
  ...declared,
  create(platform) {
    const health = createHealthService(platform);
    const deadLetters = createDeadLettersService(platform);
    return {
      service: { health, deadLetters },
      routes(app) {
        opsRoutes(app, platform, health);
        deadLettersRoutes(app, deadLetters);
      },
    };
  },
});
