import type { App } from '../../kernel/http/server.ts';
import { Problem } from '../../kernel/http/schemas.ts';
import type { IdentityService } from './identity.service.ts';
import { Jwks, LoginBody, MeResponse, RefreshBody, TokenResponse } from './identity.schemas.ts';

export function identityRoutes(app: App, identity: IdentityService, jwks: () => { keys: object[] }) {
  app.post(
    '/v1/auth/login',
    {
      config: { access: 'public', requirements: ['FR-AUTH-001', 'FR-AUTH-005', 'FR-AUTH-007', 'FR-AUTH-013', 'FR-RATE-001', 'ERR-AUTH-461', 'FR-AUTH-010'], rateLimit: { perIp: 'login' } },
      schema: { tags: ['auth'], summary: 'Sign in with email and password', body: LoginBody, response: { 200: TokenResponse, 401: Problem, 403: Problem, 429: Problem } },
    },
    async (request) => identity.login(request.ctx, request.body),
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: { access: 'public', requirements: ['FR-AUTH-005'] },
      schema: { tags: ['auth'], summary: 'Rotate a refresh token', body: RefreshBody, response: { 200: TokenResponse, 401: Problem } },
    },
    async (request) => identity.refresh(request.ctx, request.body.refresh_token),
  );

  app.post(
    '/v1/auth/logout',
    {
      // Ends an impersonation too (FR-RBAC-005).
      config: { access: 'authenticated', allowUnverified: true, requirements: ['FR-AUTH-005'], impersonation: 'allowed' },
      schema: { tags: ['auth'], summary: 'End the current session', response: { 204: { type: 'null' }, 401: Problem } },
    },
    async (request, reply) => {
      await identity.logout(request.signedIn);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/me',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: ['FR-AUTH-001', 'FR-AUTH-013', 'NFR-SEC-003', 'FR-VER-001'] },
      schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: MeResponse, 401: Problem } },
    },
    async (request) => identity.me(request.signedIn),
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public', requirements: ['FR-AUTH-013'] },
      schema: { tags: ['auth'], summary: 'Public keys that verify access tokens', response: { 200: Jwks } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return jwks();
    },
  );
}
