import { STATUS_CODES } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { RouteOptions } from 'fastify';
import { isAppAccess, isPermission, planeOf } from '../auth/permissions.ts';
import type { Config } from '../config.ts';
import type { App } from './server.ts';

/**
 * The OpenAPI document (CON-ARCH-004), for people (/v1/docs) and client generators
 * (/v1/openapi.json). It is drawn from the routes' TypeBox schemas: a schema with an `$id` is a
 * component of that name, and every use of it a `$ref`.
 */

type Schema = Record<string, unknown>;

/**
 * A stable operation id from the method and the path: the path's words in camel case, the last
 * parameter as `By<Name>` (GET /v1/tenants/:tenantId/customers/:id is getTenantsCustomersById).
 */
export function operationIdOf(method: string, url: string): string {
  const segments = url.split('/').filter((segment) => segment !== '' && segment !== 'v1');
  const last = segments.at(-1);
  const words = segments.flatMap((segment) => {
    const param = /^(?::(\w+)|\{(\w+)\})$/.exec(segment);
    if (!param) return segment.split(/[^A-Za-z0-9]+/).filter(Boolean);
    return segment === last ? ['by', param[1] ?? param[2]!] : [];
  });
  return [method.toLowerCase(), ...words.map((word) => word[0]!.toUpperCase() + word.slice(1))].join('');
}

/** How each kind of caller authenticates (guard.ts). */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token of a signed-in person (POST /v1/auth/login).' },
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'A tenant API key, tsv_key_<prefix>_<secret>, holding some of its organization’s permissions; `Authorization: Bearer tsv_key_…` works too.',
  },
  applicationKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'tsv_app_<prefix>_<secret>',
    description: 'The key of a managed application, with the scopes of its app:<scope> routes; X-API-Key works too.',
  },
} as const;

/**
 * The schemes a route's declared access accepts: none for a public route, an application key for
 * `app:<scope>`, and a person's token, or a tenant API key where the permission is a tenant's.
 */
export function securityOf(access: string): Record<keyof typeof SECURITY_SCHEMES, []>[] | undefined {
  if (access === 'public') return undefined;
  if (isAppAccess(access)) return [{ applicationKey: [] }] as never;
  if (isPermission(access) && planeOf(access) === 'tenant') return [{ bearer: [] }, { apiKey: [] }] as never;
  return [{ bearer: [] }] as never;
}

/** What a problem response means, by status; other statuses are described by their reason phrase. */
const PROBLEM_MEANINGS: Record<number, string> = {
  400: 'The request is not valid (problem details say which part)',
  401: 'Authentication is missing, not valid or has ended',
  403: 'The caller may not do this: a permission, the organization or a recent second factor is missing',
  404: 'Not found (a resource of another organization is not found either)',
  409: 'Conflict with the current state: a stale version, a duplicate or a rule of the resource',
  410: 'The link or invitation is no longer valid',
  422: 'The request is understood but cannot be carried out',
  429: 'Too many requests: retry after the time Retry-After says',
};

export function responseDescription(status: string): string {
  const code = Number(status);
  return PROBLEM_MEANINGS[code] ?? STATUS_CODES[code] ?? 'Response';
}

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null;
const nameOf = (schema: Schema): string | undefined => (typeof schema.$id === 'string' ? schema.$id : undefined);

/** The named schemas in a route's schema, outermost first. */
function namedSchemasIn(node: unknown, found: Schema[] = []): Schema[] {
  if (!isSchema(node)) return found;
  if (nameOf(node)) found.push(node);
  for (const value of Object.values(node)) namedSchemasIn(value, found);
  return found;
}

/** A copy in which every named schema below `keep` (or every one, without it) is a `$ref` to it. */
function referencing(node: unknown, keep?: unknown): unknown {
  if (!isSchema(node)) return node;
  const name = nameOf(node);
  if (name && node !== keep) return { $ref: name };
  if (Array.isArray(node)) return node.map((item) => referencing(item));
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, referencing(value)]));
}

/**
 * Registers, once, each named schema the routes use, with the named schemas inside it as `$ref`s:
 * @fastify/swagger turns the registered schemas into components. Validation and serialization are
 * unchanged, since the routes keep their schemas whole. Two different schemas of one name stop the
 * server from starting.
 */
function componentRegistry(app: App) {
  const registered = new Map<string, Schema>();
  return (route: RouteOptions) => {
    for (const schema of namedSchemasIn(route.schema)) {
      const name = nameOf(schema)!;
      const known = registered.get(name);
      if (known) {
        if (!isDeepStrictEqual(known, schema)) throw new Error(`Route ${String(route.method)} ${route.url}: two different schemas are named ${name}`);
        continue;
      }
      registered.set(name, schema);
      app.addSchema(referencing(schema, schema) as Schema & { $id: string });
    }
  };
}

/** Each response with a description: its own, else what its status means. */
function describedResponses(responses: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      if (typeof response.description === 'string') return [status, response];
      // The plugin reads the description of a `$ref` beside it, and of a schema from this keyword.
      const key = '$ref' in response ? 'description' : 'x-response-description';
      return [status, { ...response, [key]: responseDescription(status) }];
    }),
  );
}

interface DeclaredRoute {
  access?: string;
  requirements?: string[];
  allowUnverified?: boolean;
  stepUp?: boolean;
  impersonation?: 'allowed';
}

/** The document's view of one route: references, descriptions, operation id, security and our extensions. */
function documented({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }) {
  const declared = route.config as DeclaredRoute | undefined;
  const transformed = referencing(schema ?? {}) as Schema;
  if (isSchema(transformed.response)) transformed.response = describedResponses(transformed.response as Record<string, Schema>);
  // Client generators name their functions after it; a route may name its own.
  transformed.operationId ??= operationIdOf([route.method].flat()[0]!, url);
  if (declared?.access) {
    transformed['x-permission'] = declared.access;
    transformed['x-requirements'] = declared.requirements;
    const security = securityOf(declared.access);
    if (security) transformed.security = security;
    // FR-VER-001: the few routes that answer before the user's address (or phone) is verified.
    if (declared.allowUnverified) transformed['x-allow-unverified'] = true;
    // FR-AUTH-014: a route marked for step-up beyond its permission's sensitivity.
    if (declared.stepUp) transformed['x-step-up'] = true;
    // FR-RBAC-005: one of the few writes an impersonation session may make.
    if (declared.impersonation) transformed['x-impersonation'] = declared.impersonation;
  }
  return { schema: transformed as never, url };
}

/** Serves the document at /v1/openapi.json and its UI under /v1/docs; call before any route is added. */
export async function registerOpenApi(app: App, config: Config): Promise<void> {
  app.addHook('onRoute', componentRegistry(app));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'TSV Baseline API', version: '1.0.0', description: 'Every operation lists its x-permission and x-requirements.' },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: SECURITY_SCHEMES as never },
    },
    // Components are named after the schemas' `$id`s, not numbered.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: documented,
  });
  app.get('/v1/openapi.json', { config: { access: 'public', requirements: ['CON-ARCH-004'] }, schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/v1/docs', uiConfig: { url: '/v1/openapi.json' } as never });
}
