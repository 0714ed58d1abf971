import type { FastifyRequest, RouteOptions } from 'fastify';
import { recordSecurityEvent } from '../audit/audit.ts';
import { can, isPermission, type RouteAccess } from '../auth/permissions.ts';
import type { SessionCache } from '../auth/session-cache.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Actor, RequestContext } from '../context.ts';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route requires (FR-RBAC-004): a permission, 'authenticated' or 'public'. */
    access?: RouteAccess;
    /** The requirement IDs the route serves (FR-RTM-001). */
    requirements?: string[];
  }
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

export interface RouteDeclaration {
  method: string;
  url: string;
  access: RouteAccess;
  requirements: string[];
}

const REQUIREMENT_ID = /^[A-Z]+(-[A-Z0-9]+)+$/;
const TENANT_PREFIX = '/v1/tenants/:tenantId';

/**
 * Checks a route's declaration as it is added: a route that declares no access or no requirement
 * IDs stops the server from starting. Returns the declaration for the route table.
 */
export function declarationOf(route: RouteOptions): RouteDeclaration | null {
  const config = (route.config ?? {}) as { access?: string; requirements?: string[]; static?: boolean };
  const methods = ([] as string[]).concat(route.method);
  if (methods.every((method) => method === 'HEAD' || method === 'OPTIONS')) return null;
  const where = `${methods.join(',')} ${route.url}`;
  if (!config.access) throw new Error(`Route ${where} declares no access (a permission, 'authenticated' or 'public')`);
  if (config.access !== 'public' && config.access !== 'authenticated' && !isPermission(config.access)) {
    throw new Error(`Route ${where} declares unknown permission '${config.access}'`);
  }
  const requirements = config.requirements ?? [];
  if (requirements.length === 0 || !requirements.every((id) => REQUIREMENT_ID.test(id))) {
    throw new Error(`Route ${where} declares no valid requirement IDs`);
  }
  if (route.url.startsWith('/v1/tenants/') && !route.url.startsWith(TENANT_PREFIX)) {
    throw new Error(`Route ${where}: tenant routes live under ${TENANT_PREFIX}`);
  }
  if (route.url.startsWith(TENANT_PREFIX) && (config.access === 'public' || config.access === 'authenticated')) {
    throw new Error(`Route ${where}: a tenant route must declare a permission`);
  }
  return { method: methods.join(','), url: route.url, access: config.access as RouteAccess, requirements };
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  return match ? match[1]! : null;
}

export interface GuardDependencies {
  db: Database;
  tokens: TokenService;
  sessions: SessionCache;
}

/**
 * Proves the session still stands: from the cache when it was seen active moments ago, else from
 * the database (a revoked session, an expired one or a suspended tenant fails).
 */
async function sessionIsActive(deps: GuardDependencies, actor: Actor): Promise<boolean> {
  if (deps.sessions.isActive(actor.sessionId)) return true;
  const check = async (tx: Parameters<Parameters<Database['withPlatform']>[0]>[0]) =>
    tx
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .leftJoin('tenants as t', 't.id', 's.tenant_id')
      .select(['s.status', 's.expires_at', 's.user_id', 'u.status as user_status', 't.status as tenant_status'])
      .where('s.id', '=', actor.sessionId)
      .executeTakeFirst();
  const row = actor.tenantId ? await deps.db.withTenant(actor.tenantId, check) : await deps.db.withPlatform(check);
  const active =
    row !== undefined &&
    row.user_id === actor.userId &&
    row.status === 'active' &&
    row.user_status === 'active' &&
    row.expires_at.getTime() > Date.now() &&
    (actor.tenantId === null || row.tenant_status === 'active');
  if (active) deps.sessions.remember(actor.sessionId, { tenantId: actor.tenantId, userId: actor.userId, expiresAt: row.expires_at });
  return active;
}

/**
 * Runs before the body is read: authenticates the caller, proves the session is live, refuses a
 * tenant path that is not the token's tenant (a security event) and checks the route's permission.
 */
export function guard(deps: GuardDependencies) {
  return async function onRequest(request: FastifyRequest) {
    const access = request.routeOptions.config?.access;
    if (!access || access === 'public') return;

    const token = bearerToken(request);
    if (!token) throw new AppError('unauthorized');
    let claims;
    try {
      claims = await deps.tokens.verify(token);
    } catch {
      throw new AppError('unauthorized', 'The access token is not valid.');
    }
    const actor: Actor = {
      type: claims.tenant_id === null ? 'operator' : 'user',
      userId: claims.sub,
      tenantId: claims.tenant_id,
      roles: claims.roles,
      sessionId: claims.sid,
      amr: claims.amr,
    };
    if (!(await sessionIsActive(deps, actor))) throw new AppError('unauthorized', 'The session has ended.');
    request.ctx.actor = actor;
    request.ctx.log = request.ctx.log.child({ tenantId: actor.tenantId, userId: actor.userId });

    const pathTenant = (request.params as { tenantId?: string }).tenantId;
    if (pathTenant !== undefined && pathTenant !== actor.tenantId) {
      await recordSecurityEvent(deps.db, request.ctx, {
        tenantId: actor.tenantId,
        action: 'security.cross_tenant_attempt',
        severity: 'high',
        metadata: { path_tenant: pathTenant.slice(0, 64), method: request.method, route: request.routeOptions.url },
      });
      throw new AppError('tenant-mismatch', 'The organization in the path is not the one you are signed in to.');
    }
    if (access !== 'authenticated' && !can(actor.roles, access)) {
      await recordSecurityEvent(deps.db, request.ctx, {
        tenantId: actor.tenantId,
        action: 'security.permission_denied',
        severity: 'low',
        metadata: { permission: access, route: request.routeOptions.url, method: request.method },
      });
      throw new AppError('forbidden', `This action needs the permission ${access}.`);
    }
  };
}
