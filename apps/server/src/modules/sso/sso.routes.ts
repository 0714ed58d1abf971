import type { FastifyReply } from 'fastify';
import type { App } from '../../kernel/http/server.ts';
import { Problem, problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import { CallbackQuery, ExchangeBody, LinkStart, SlugParams, SsoAvailability, SsoConfig, SsoConfigBody, TokenResponse } from './sso.schemas.ts';
import { CALLBACK_PATH, type SsoService } from './sso.service.ts';

const TAGS = ['sso'];
const REDIRECT = { 302: { type: 'null', description: 'To the identity provider, or back to the console' } } as const;
const LOGIN_RATE = { perIp: 'login' } as const;

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) cookies[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return cookies;
}

export function ssoRoutes(app: App, sso: SsoService) {
  // The browser binding lives for one sign-in. A `__Host-` cookie must be Secure, for Path=/ and
  // without a Domain; browsers also keep Secure cookies from http://localhost, for development.
  const cookie = (name: string, value: string, maxAge: number) => `${name}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;
  const bind = (reply: FastifyReply, started: { cookie: { name: string; value: string } | null }) => {
    if (started.cookie) reply.header('set-cookie', cookie(started.cookie.name, started.cookie.value, 600));
    reply.header('cache-control', 'no-store');
  };
  const redirect = (reply: FastifyReply, started: { location: string; cookie: { name: string; value: string } | null }) => {
    bind(reply, started);
    return reply.redirect(started.location, 302);
  };

  const CONFIG = '/v1/tenants/:tenantId/sso';
  app.get(
    CONFIG,
    {
      config: { access: 'sso.manage', requirements: ['FR-AUTH-003'] },
      schema: { tags: TAGS, summary: "The organization's identity provider (the client secret is never returned)", params: TenantParams, response: { 200: SsoConfig, ...problemResponses } },
    },
    async (request) => sso.getConfig(request.ctx),
  );
  app.put(
    CONFIG,
    {
      config: { access: 'sso.manage', requirements: ['FR-AUTH-003', 'CON-SEC-009'] },
      schema: {
        tags: TAGS,
        summary: "Set the organization's identity provider, after checking its discovery document and keys",
        params: TenantParams,
        body: SsoConfigBody,
        response: { 200: SsoConfig, 422: Problem, ...problemResponses },
      },
    },
    async (request) => sso.putConfig(request.signedIn, request.body),
  );
  app.delete(
    CONFIG,
    {
      config: { access: 'sso.manage', requirements: ['FR-AUTH-003'] },
      schema: { tags: TAGS, summary: "Remove the organization's identity provider", params: TenantParams, response: { 204: { type: 'null' }, ...problemResponses } },
    },
    async (request, reply) => {
      await sso.deleteConfig(request.ctx);
      return reply.status(204).send(null);
    },
  );

  app.get(
    CALLBACK_PATH,
    {
      config: { access: 'public', requirements: ['FR-AUTH-001', 'FR-AUTH-003', 'FR-AUTH-011', 'FR-SYS-004', 'FR-RBAC-006'], rateLimit: LOGIN_RATE },
      schema: { tags: TAGS, summary: "The identity provider's redirect back: on to the console with a one-time code or an error", querystring: CallbackQuery, response: REDIRECT },
    },
    async (request, reply) => {
      const outcome = await sso.callback(request.ctx, request.query, parseCookies(request.headers.cookie));
      if (outcome.clearCookie) reply.header('set-cookie', cookie(outcome.clearCookie, '', 0));
      reply.header('cache-control', 'no-store');
      return reply.redirect(outcome.location, 302);
    },
  );
  app.post(
    '/v1/auth/sso/exchange',
    {
      config: { access: 'public', requirements: ['FR-AUTH-001', 'FR-AUTH-011'], rateLimit: LOGIN_RATE },
      schema: { tags: TAGS, summary: "Trade a completed sign-in's one-time code for the token pair", body: ExchangeBody, response: { 200: TokenResponse, 400: Problem, 401: Problem, 403: Problem } },
    },
    async (request) => sso.exchange(request.ctx, request.body.code, request.body.device),
  );
  app.post(
    '/v1/auth/sso/link',
    {
      config: { access: 'authenticated', requirements: ['FR-AUTH-001', 'FR-AUTH-003'], rateLimit: LOGIN_RATE },
      schema: {
        tags: TAGS,
        summary: "Link the signed-in account to the organization's identity provider: the provider's URL to open, with the browser binding cookie",
        response: { 200: LinkStart, 422: Problem, ...problemResponses },
      },
    },
    async (request, reply) => {
      const started = await sso.startLink(request.ctx);
      bind(reply, started);
      return { location: started.location };
    },
  );
  app.get(
    '/v1/auth/sso/:tenantSlug',
    {
      config: { access: 'public', requirements: ['FR-AUTH-001'] },
      schema: { tags: TAGS, summary: 'Whether an organization signs in with single sign-on', params: SlugParams, response: { 200: SsoAvailability } },
    },
    async (request) => sso.availability(request.params.tenantSlug),
  );
  app.get(
    '/v1/auth/sso/:tenantSlug/start',
    {
      config: { access: 'public', requirements: ['FR-AUTH-001', 'FR-AUTH-003'], rateLimit: LOGIN_RATE },
      schema: { tags: TAGS, summary: "Sign in with the organization's identity provider (redirect)", params: SlugParams, response: REDIRECT },
    },
    async (request, reply) => redirect(reply, await sso.startTenant(request.ctx, request.params.tenantSlug)),
  );
  app.get(
    '/v1/auth/platform-sso',
    {
      config: { access: 'public', requirements: ['FR-AUTH-011'] },
      schema: { tags: TAGS, summary: 'Whether platform staff sign in with the company identity provider', response: { 200: SsoAvailability } },
    },
    async () => sso.platformAvailability(),
  );
  app.get(
    '/v1/auth/platform-sso/start',
    {
      config: { access: 'public', requirements: ['FR-AUTH-011', 'FR-SYS-004'], rateLimit: LOGIN_RATE },
      schema: { tags: TAGS, summary: "Sign in as platform staff with the company identity provider (redirect)", response: REDIRECT },
    },
    async (request, reply) => redirect(reply, await sso.startPlatform(request.ctx)),
  );
}
