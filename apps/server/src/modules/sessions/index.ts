export { createSessionsService, registerDevice, sessionLifetimeSeconds, touchSessionAtRefresh, type SessionsService } from './sessions.service.ts';
export { sessionsRoutes } from './sessions.routes.ts';
