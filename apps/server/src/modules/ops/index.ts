export { deadLettersRoutes } from './dead-letters.routes.ts';
export { createDeadLettersService, type DeadLettersService } from './dead-letters.service.ts';
export { opsRoutes } from './ops.routes.ts';
export { createHealthService, type HealthService } from './ops.service.ts';
