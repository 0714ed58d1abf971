import { randomUUID } from 'node:crypto';
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordPrivilegedRequest, recordResourceRead, type AuditReadMark } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import { signedIn } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { declarationOf, guard, type GuardDependencies, type RouteDeclaration } from './guard.ts';
import { createIdempotency } from './idempotency.ts';
import { registerOpenApi } from './openapi.ts';
import { checkUrlInput, strictJsonParser } from './input.ts';
import { RouteMetrics } from '../metrics.ts';
import { answerClientError, handleError, sendProblem } from './problems.ts';
import { createRequestLimits, type RequestLimitDependencies } from './rate-limit.ts';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** API routes, as opposed to the static assets of the web console and the documentation UI. */
export function isApiRoute(url: string): boolean {
  return /^\/(v1|\.well-known|healthz|readyz)(\/|$)/.test(url) && !url.startsWith('/v1/docs');
}

/** The web console loads nothing from elsewhere and is never framed. */
const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const validators = AjvCompiler();
/**
 * Query strings, path parameters and headers are text, so their numbers and booleans are coerced;
 * a JSON body has types of its own, and a number sent for a string is refused.
 */
const buildValidator: typeof validators = (externalSchemas, options) => {
  const coercing = validators(externalSchemas, options);
  const exact = validators(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
  // Fastify calls the compiler with the route's schema and part; the package's types say only the schema.
  return ((route: { httpPart?: string }) => (route.httpPart === 'body' ? exact : coercing)(route as never)) as never;
};

/**
 * The HTTP kernel: correlation ids, the route table with declared access, authentication and
 * authorization before the body is read, request timeouts, RFC 7807 errors and the OpenAPI document.
 * Modules add their routes to the returned instance.
 */
export async function createHttpServer(
  config: Config,
  log: Logger,
  deps: GuardDependencies & RequestLimitDependencies & { metrics?: RouteMetrics },
): Promise<{ app: App; routes: RouteDeclaration[] }> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    // Connection-level limits; the handler-level timeout below answers with a problem response.
    requestTimeout: config.requestTimeoutMs + 5_000,
    connectionTimeout: config.requestTimeoutMs + 5_000,
    return503OnClosing: true,
    // The client address is the socket's unless the connection comes from a configured proxy, so
    // a forged X-Forwarded-For cannot pick its own rate-limit bucket.
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    forceCloseConnections: 'idle',
    // One line per request is written in onResponse, with the route and duration.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    schemaController: { compilersFactory: { buildValidator } },
    // Errors of Node's HTTP parser (headers too large, malformed requests) come before any request,
    // and a path that is not UTF-8 before routing: problems like every other error.
    clientErrorHandler: (error, socket) => answerClientError(log, error, socket),
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return handleError(error, request, reply);
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only (docs/problems.md: a body that is not JSON is a 415). Fastify parses
  // text/plain by default, which would turn such a body into a string and a 400 instead.
  app.removeContentTypeParser('text/plain');
  // JSON bodies are UTF-8, without NUL characters, lone surrogates or duplicate keys (input.ts).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, strictJsonParser(app.getDefaultJsonParser('error', 'error')));

  const routes: RouteDeclaration[] = [];
  // Error rate and p99 per route family for the health API (FR-SYS-005).
  const metrics = deps.metrics ?? new RouteMetrics();
  app.addHook('onRoute', (route) => {
    // Static assets are public by nature and declare nothing themselves: the documentation UI
    // under /v1/docs, and the web console, which owns every GET outside the API namespaces.
    if (route.url.startsWith('/v1/docs')) {
      route.config = { ...route.config, access: 'public', requirements: ['CON-ARCH-004'] };
    } else if (!isApiRoute(route.url) && !route.config?.access) {
      route.config = { ...route.config, access: 'public', requirements: ['FR-AUTH-001'] };
    }
    const declaration = declarationOf(route);
    if (declaration) routes.push(declaration);
  });
  // Each handler runs inside its tenant's concurrency bound (FR-TEN-008), around Idempotency-Key
  // handling (FR-IDEM-001): the wrapper added last is the outer one.
  const limits = createRequestLimits(config, deps);
  const idempotency = createIdempotency(config, deps.db);
  app.addHook('onRoute', idempotency.onRoute);
  app.addHook('onRoute', limits.onRoute);

  app.decorateRequest('ctx', null as never);
  app.decorateRequest('signedIn', {
    getter(this: FastifyRequest) {
      return signedIn(this.ctx);
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    request.ctx = {
      correlationId: request.id,
      ip: request.ip,
      userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
      actor: null,
      // No unit reach until the guard grants one for the route's permission.
      reach: new Set(),
      log: request.log as Logger,
    };
  });
  // NUL characters and bad percent-encoding in the URL are refused before anything reads them.
  app.addHook('onRequest', checkUrlInput);
  // Rate limits (FR-RATE-001): an address that keeps failing authentication is refused before its
  // tokens are verified; the caller's own limits apply once the guard knows who it is.
  app.addHook('onRequest', limits.beforeAuthentication);
  app.addHook('onRequest', guard({ ...deps, idleTimeoutSeconds: config.sessionIdleTimeoutSeconds, stepUp: deps.stepUp }));
  app.addHook('onRequest', limits.afterAuthentication);
  app.addHook('onError', limits.onError);

  // Bounds the time a handler may take; the answer is a 503 problem rather than a hung client.
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      // A streamed answer (CSV export) that has begun cannot turn into a problem any more.
      if (!reply.sent && !reply.raw.headersSent) {
        request.log.warn({ route: request.routeOptions.url }, 'request timed out');
        void sendProblem(request, reply, new AppError('timeout'));
      }
    }, config.requestTimeoutMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (!isApiRoute(request.url) && !request.url.startsWith('/v1/docs')) reply.header('content-security-policy', CONSOLE_CSP);
    // No browser or proxy keeps an API answer (tokens, secrets, exports, personal data), unless
    // its route set a caching policy of its own (the JWKS, the flag document's ETag).
    if (isApiRoute(request.url) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });
  // FR-AUD-005: a successful answer of a route marked `auditRead` leaves only once its audit event
  // is written; when the event cannot be written the client gets a 500 problem instead of the data.
  app.addHook('onSend', async (request, reply) => {
    const mark = (request.routeOptions.config as { auditRead?: AuditReadMark } | undefined)?.auditRead;
    if (mark && config.auditOnRead && reply.statusCode >= 200 && reply.statusCode < 300) {
      await recordResourceRead(deps.db, request.ctx, mark, request.params as Record<string, unknown>);
    }
  });
  // FR-RBAC-005, FR-RBAC-006: every request of an impersonation or Super Admin session, reads
  // included, is audited before its answer leaves; if that fails the answer is a 500 problem, and
  // the problem's own pass through this hook records nothing more (one attempt per request).
  const privilegedAttempted = new WeakSet<object>();
  app.addHook('onSend', async (request, reply) => {
    if (!request.ctx?.actor || privilegedAttempted.has(request)) return;
    privilegedAttempted.add(request);
    await recordPrivilegedRequest(deps.db, request.ctx, { method: request.method, route: request.routeOptions.url, status: reply.statusCode });
  });
  // Last, so that the answer stored for an Idempotency-Key is the one the client gets.
  app.addHook('onSend', idempotency.onSend);
  app.addHook('onResponse', async (request, reply) => {
    if (isApiRoute(request.url)) metrics.record(request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    request.log.info(
      { method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, new AppError('not-found')));

  await registerOpenApi(app, config);

  return { app, routes };
}
