export {
  createSessionsService,
  findKnownDevice,
  linkSessionToDevice,
  registerDevice,
  revokeUserSessions,
  sessionLifetimeSeconds,
  touchSessionAtRefresh,
  type DeviceInput,
  type SessionOpener,
  type SessionStart,
  type TokenPair,
  type SessionsService,
} from './sessions.service.ts';
export { DeviceBody } from './sessions.schemas.ts';
export { revokeAllSessions, revokeSession } from './sessions.queries.ts';
export { sessionsRoutes } from './sessions.routes.ts';
