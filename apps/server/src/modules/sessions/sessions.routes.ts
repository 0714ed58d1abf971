import type { App } from '../../kernel/http/server.ts';
import { problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import { DeviceList, IdParams, SessionList, SessionPolicy, SessionPolicyBody, UserParams, UserSessionParams } from './sessions.schemas.ts';
import type { SessionsService } from './sessions.service.ts';

const TAGS = ['sessions'];
/** Session policy (FR-AUTH-008); listing and revoking devices and sessions (FR-AUTH-009). */
const REQUIREMENTS = ['FR-AUTH-008', 'FR-AUTH-009'];
const POLICY_REQUIREMENTS = ['FR-AUTH-008'];
const NO_CONTENT = { 204: { type: 'null' }, ...problemResponses } as const;

export function sessionsRoutes(app: App, sessions: SessionsService) {
  app.get(
    '/v1/me/sessions',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List my active sessions', response: { 200: SessionList, ...problemResponses } },
    },
    async (request) => sessions.listOwnSessions(request.signedIn),
  );
  app.delete(
    '/v1/me/sessions/:id',
    {
      config: { access: 'authenticated', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'End one of my sessions, on every node at once', params: IdParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await sessions.revokeOwnSession(request.signedIn, request.params.id);
      return reply.status(204).send(null);
    },
  );
  app.get(
    '/v1/me/devices',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'List my devices', response: { 200: DeviceList, ...problemResponses } },
    },
    async (request) => sessions.listOwnDevices(request.signedIn),
  );
  app.delete(
    '/v1/me/devices/:id',
    {
      config: { access: 'authenticated', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'Forget one of my devices and end every session on it', params: IdParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await sessions.revokeOwnDevice(request.signedIn, request.params.id);
      return reply.status(204).send(null);
    },
  );

  const USER_SESSIONS = '/v1/tenants/:tenantId/users/:userId/sessions';
  app.get(
    USER_SESSIONS,
    {
      config: { access: 'users.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: "List a user's active sessions", params: UserParams, response: { 200: SessionList, ...problemResponses } },
    },
    async (request) => sessions.listUserSessions(request.signedIn, request.params.userId),
  );
  app.delete(
    `${USER_SESSIONS}/:id`,
    {
      config: { access: 'users.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: "End one of a user's sessions", params: UserSessionParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await sessions.revokeUserSession(request.signedIn, request.params.userId, request.params.id);
      return reply.status(204).send(null);
    },
  );
  app.delete(
    USER_SESSIONS,
    {
      config: { access: 'users.manage', requirements: REQUIREMENTS },
      schema: { tags: TAGS, summary: 'End every session of a user', params: UserParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await sessions.revokeAllUserSessions(request.signedIn, request.params.userId);
      return reply.status(204).send(null);
    },
  );

  const POLICY = '/v1/tenants/:tenantId/session-policy';
  app.get(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: POLICY_REQUIREMENTS },
      schema: { tags: TAGS, summary: "The organization's session lifetimes", params: TenantParams, response: { 200: SessionPolicy, ...problemResponses } },
    },
    async (request) => sessions.getPolicy(request.ctx),
  );
  app.put(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: [...POLICY_REQUIREMENTS, 'FR-AUTH-014'], stepUp: true },
      schema: { tags: TAGS, summary: "Shorten the organization's session lifetimes", params: TenantParams, body: SessionPolicyBody, response: { 200: SessionPolicy, ...problemResponses } },
    },
    async (request) => sessions.updatePolicy(request.ctx, request.body),
  );
}
