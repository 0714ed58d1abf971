import type { App } from '../../kernel/http/server.ts';
import { Problem, problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import type { PasswordsService } from './passwords.service.ts';
import {
  ChangePasswordBody,
  PasswordPolicyBody,
  PasswordPolicyResponse,
  PasswordResetAccepted,
  PasswordResetBody,
  PasswordResetConfirmBody,
} from './passwords.schemas.ts';

const RESET_ACCEPTED = { status: 'accepted', message: 'If the address belongs to an account, a reset link is on its way.' } as const;

export function passwordsRoutes(app: App, passwords: PasswordsService) {
  app.post(
    '/v1/me/password',
    {
      config: { access: 'authenticated', requirements: ['FR-AUTH-002', 'FR-AUTH-004'] },
      schema: { tags: ['auth'], summary: 'Change the password (other sessions end)', body: ChangePasswordBody, response: { 204: { type: 'null' }, 400: Problem, 401: Problem, 403: Problem } },
    },
    async (request, reply) => {
      await passwords.change(request.signedIn, request.body);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/auth/password-reset',
    {
      config: { access: 'public', requirements: ['FR-AUTH-004', 'FR-RATE-001'], rateLimit: { perIp: 'login' } },
      schema: { tags: ['auth'], summary: 'Ask for a password reset link by mail', body: PasswordResetBody, response: { 202: PasswordResetAccepted, 400: Problem } },
    },
    async (request, reply) => {
      await passwords.requestReset(request.ctx, request.body);
      return reply.status(202).send(RESET_ACCEPTED);
    },
  );

  app.post(
    '/v1/auth/password-reset/confirm',
    {
      config: { access: 'public', requirements: ['FR-AUTH-002', 'FR-AUTH-004', 'NFR-SEC-003'], rateLimit: { perIp: 'login' } },
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a reset link (and a second factor when the user has one)',
        body: PasswordResetConfirmBody,
        response: { 204: { type: 'null' }, 400: Problem, 401: Problem, 403: Problem, 410: Problem },
      },
    },
    async (request, reply) => {
      await passwords.confirmReset(request.ctx, request.body);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/tenants/:tenantId/password-policy',
    {
      config: { access: 'settings.manage', requirements: ['FR-AUTH-002', 'FR-AUTH-006'] },
      schema: { tags: ['auth'], summary: 'The password policy of the organization', params: TenantParams, response: { 200: PasswordPolicyResponse, ...problemResponses } },
    },
    async (request) => passwords.getPolicy(request.ctx),
  );

  app.put(
    '/v1/tenants/:tenantId/password-policy',
    {
      config: { access: 'settings.manage', requirements: ['FR-AUTH-002', 'FR-AUTH-006', 'FR-AUTH-014'], stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Tighten the password policy (never below the platform minimum)',
        params: TenantParams,
        body: PasswordPolicyBody,
        response: { 200: PasswordPolicyResponse, ...problemResponses },
      },
    },
    async (request) => passwords.updatePolicy(request.ctx, request.body),
  );
}
