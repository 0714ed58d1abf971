import { defineModule } from '../../kernel/module.ts';
import { deadLettersRoutes } from './dead-letters.routes.ts';
import { createDeadLettersService } from './dead-letters.service.ts';
import { opsRoutes } from './ops.routes.ts';
import { createHealthService } from './ops.service.ts';
export { deadLettersRoutes } from './dead-letters.routes.ts';
export { createDeadLettersService, type DeadLettersService } from './dead-letters.service.ts';
export { opsRoutes } from './ops.routes.ts';
export { createHealthService, type HealthService } from './ops.service.ts';

export const opsModule = defineModule({
  name: 'ops',
  summary: 'Liveness, readiness, the health report and the dead-letter queue.',
  dependsOn: [],
  tables: [],
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
