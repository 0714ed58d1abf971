import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { createSessionsService } from './sessions.service.ts';
import { sessionsRoutes } from './sessions.routes.ts';
export {
  createSessionsService,
  findKnownDevice,
  revokeUserSessions,
  type DeviceInput,
  type RefreshTerms,
  type SessionHolder,
  type SessionOpener,
  type SessionStart,
  type SignInStart,
  type TokenPair,
  type SessionsService,
} from './sessions.service.ts';
export { DeviceBody } from './sessions.schemas.ts';
export {
  findLiveImpersonationSession,
  findRevokedImpersonationSessions,
  findSessionExpiry,
  findStaffSession,
  insertImpersonationSession,
  revokeAllSessions,
  revokeImpersonationSession,
  revokeSession,
} from './sessions.queries.ts';
export { sessionsRoutes } from './sessions.routes.ts';

const declared = {
  auditActions: ['session.revoked', 'device.revoked', 'session_policy.updated'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    sessions: typeof declared;
  }
}

export const sessionsModule = defineModule({
  name: 'sessions',
  summary: "Sessions opened at sign-in, their refresh tokens and devices, and their revocation; the tenant's session policy.",
  dependsOn: [],
  tables: ['sessions', 'refresh_tokens', 'devices', 'tenant_session_policy'],
  ...declared,
  create(platform) {
    const service = createSessionsService(platform);
    return { service, routes: (app) => sessionsRoutes(app, service) };
  },
});
