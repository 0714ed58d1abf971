export { opsRoutes } from './ops.routes.ts';
export { createHealthService, type HealthService } from './ops.service.ts';
