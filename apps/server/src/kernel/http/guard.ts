import type { FastifyRequest, RouteOptions } from 'fastify';
import { sql } from 'kysely';
import { recordSecurityEvent } from '../audit/audit.ts';
import {
  ACCESS_GRANTING_PERMISSIONS,
  isAppAccess,
  isPermission,
  isSensitive,
  platformGrants,
  reachOf,
  tenantGrants,
  type RouteAccess,
} from '../auth/permissions.ts';
import type { ActiveSession, SessionCache } from '../auth/session-cache.ts';
import type { TokenService, VerifiedAccess } from '../auth/tokens.ts';
import type { Actor, RequestContext, SignedInContext } from '../context.ts';
import { inPlane, type Database, type Tx } from '../db/database.ts';
import { recentSecondFactor, stepUpRequired } from '../auth/step-up.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route requires (FR-RBAC-004): a permission, 'authenticated' or 'public'. */
    access?: RouteAccess;
    /** The requirement IDs the route serves (FR-RTM-001). */
    requirements?: string[];
    /** The route answers users whose email or phone is not verified yet (FR-VER-001): /v1/me, logout, verification. */
    allowUnverified?: boolean;
    /**
     * FR-AUTH-014: the route needs a recent second factor although its permission is not sensitive
     * in the catalog (a change of an organization's security policies beside reading them).
     */
    stepUp?: boolean;
    /**
     * FR-RBAC-005: an impersonation session may call this write (reads it always may). Only for the
     * few changes support needs; never on a route whose permission grants access.
     */
    impersonation?: 'allowed';
  }
  interface FastifyRequest {
    ctx: RequestContext;
    /** The context of the signed-in caller the guard let in; answers 401 where there is none. */
    readonly signedIn: SignedInContext;
  }
}

export interface RouteDeclaration {
  method: string;
  url: string;
  access: RouteAccess;
  requirements: string[];
  /** FR-AUTH-014: people need a recent second factor for it (sensitive permission or route). */
  stepUp: boolean;
  /** FR-RBAC-005: whether an impersonation session may call it: every read, and the writes that say so. */
  impersonation: 'allowed' | 'denied';
}

const REQUIREMENT_ID = /^[A-Z]+(-[A-Z0-9]+)+$/;
const TENANT_PREFIX = '/v1/tenants/:tenantId';
const isRead = (method: string) => method === 'GET' || method === 'HEAD';

/**
 * Checks a route's declaration as it is added: a route that declares no access or no requirement
 * IDs stops the server from starting. Returns the declaration for the route table.
 */
export function declarationOf(route: RouteOptions): RouteDeclaration | null {
  const config = (route.config ?? {}) as { access?: string; requirements?: string[]; static?: boolean; stepUp?: boolean; impersonation?: unknown };
  const methods = ([] as string[]).concat(route.method);
  if (methods.every((method) => method === 'HEAD' || method === 'OPTIONS')) return null;
  const where = `${methods.join(',')} ${route.url}`;
  if (!config.access) throw new Error(`Route ${where} declares no access (a permission, 'authenticated' or 'public')`);
  if (config.access !== 'public' && config.access !== 'authenticated' && !isPermission(config.access) && !isAppAccess(config.access)) {
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
  if (config.stepUp && !isPermission(config.access)) throw new Error(`Route ${where}: only a route with a permission can require step-up`);
  const stepUp = isPermission(config.access) && (isSensitive(config.access) || config.stepUp === true);
  const reads = methods.every(isRead);
  if (config.impersonation !== undefined) {
    if (config.impersonation !== 'allowed') throw new Error(`Route ${where}: impersonation can only be declared 'allowed'`);
    if (reads) throw new Error(`Route ${where}: reads are always allowed to impersonation; declare it on writes only`);
    if (config.access === 'public' || isAppAccess(config.access)) throw new Error(`Route ${where}: no impersonation session reaches a public or application route`);
    if (isPermission(config.access) && ACCESS_GRANTING_PERMISSIONS.has(config.access)) {
      throw new Error(`Route ${where}: ${config.access} grants access: never allowed to impersonation`);
    }
  }
  const impersonation = reads || config.impersonation === 'allowed' ? 'allowed' : 'denied';
  return { method: methods.join(','), url: route.url, access: config.access as RouteAccess, requirements, stepUp, impersonation };
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
  /** Authenticates managed applications on `app:<scope>` routes (modules/apps); absent, they are refused. */
  apps?: { authenticate(request: FastifyRequest, scope: string): Promise<void> };
  /** Authenticates tenant API keys (modules/api-keys) into their actor, or null; absent, they are refused. */
  apiKeys?: { authenticate(key: string): Promise<Actor | null> };
  /** A session unused this long is refused (FR-AUTH-008); a tenant's policy may shorten it. */
  idleTimeoutSeconds?: number;
  /** FR-AUTH-014: sensitive routes need a second factor proven this recently; absent, not enforced. */
  stepUp?: { enforced: boolean; maxAgeSeconds: number };
}

/** Last use is written to the session at most this often per session and node. */
const TOUCH_INTERVAL_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_SECONDS = 1800;

/** The cached session with its idle bookkeeping (the cache keeps whatever the guard remembers). */
interface TrackedSession extends ActiveSession {
  lastSeenAt: number;
  idleTimeoutMs: number;
}

/**
 * The session with the caller's roles, in one query (the view session_principals): tenant users get
 * their role assignments, platform staff their platform role.
 */
function selectSession(tx: Tx, sessionId: string) {
  return tx.selectFrom('session_principals').selectAll().where('id', '=', sessionId).executeTakeFirst();
}

/**
 * FR-AUTH-013, FR-RBAC-005: a token speaks only for its session's user, in its session's tenant,
 * and with its session's impersonator, if any (`sub` is then the user, `act.sub` the staff member).
 */
function bindsTo(claims: VerifiedAccess, session: ActiveSession): boolean {
  return session.userId === claims.sub && session.tenantId === claims.tenant_id && session.impersonatorId === (claims.act?.sub ?? null);
}

/**
 * Proves the session still stands and resolves the caller's grants: from the cache when it was
 * seen moments ago, else from the database (a revoked session, an expired one or a suspended
 * tenant fails). Role changes evict the cache on every node (FR-RBAC-004). The session is returned
 * as stored, for the caller to check the token against it; only a session the token binds to is
 * cached.
 */
async function activeSession(deps: GuardDependencies, claims: VerifiedAccess): Promise<TrackedSession | null> {
  const cached = deps.sessions.get(claims.sid) as TrackedSession | null;
  // Idle by this node's reckoning: the database decides, the session may have been used elsewhere.
  if (cached && Date.now() - cached.lastSeenAt <= cached.idleTimeoutMs) return cached;
  const tenantId = claims.tenant_id;
  const row = await inPlane(deps.db, tenantId, (tx) => selectSession(tx, claims.sid));
  const active =
    row !== undefined &&
    row.status === 'active' &&
    row.user_status === 'active' &&
    new Date(row.expires_at).getTime() > Date.now() &&
    (tenantId === null || row.tenant_status === 'active');
  if (!active) return null;
  const environmentIdle = deps.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  const idleTimeoutMs = Math.min(environmentIdle, row.tenant_idle_timeout_seconds ?? environmentIdle) * 1000;
  const lastSeenAt = new Date(row.last_seen_at).getTime();
  if (Date.now() - lastSeenAt > idleTimeoutMs) {
    deps.sessions.apply({ kind: 'session', id: claims.sid });
    return null;
  }
  const session: TrackedSession = {
    lastSeenAt,
    idleTimeoutMs,
    tenantId: row.tenant_id,
    userId: row.user_id,
    expiresAt: new Date(row.expires_at),
    impersonatorId: row.impersonator_id,
    impersonationReason: row.impersonation_reason,
    platformRegion: row.platform_region,
    unverified: !row.email_verified ? 'email' : row.phone_unverified ? 'phone' : null,
    grants: tenantId
      ? tenantGrants((row.assignments ?? []).map((a) => ({ roleKey: a.k, permissions: a.p, unitId: a.u })))
      : platformGrants([row.platform_role, row.elevated_role].filter((role) => role !== null)),
  };
  // Grants resolved in the context a forged token chose must never reach the cache.
  if (!bindsTo(claims, session)) return session;
  deps.sessions.remember(claims.sid, session);
  return deps.sessions.get(claims.sid) as TrackedSession | null ?? session;
}

/**
 * Records the use of a session, at most once a minute per session on this node, without making the
 * request wait: a lost write only makes the session look idle sooner, and the check reads it again.
 */
function touched(deps: GuardDependencies, claims: { sid: string; tenant_id: string | null }, session: TrackedSession): TrackedSession {
  const now = Date.now();
  if (now - session.lastSeenAt < TOUCH_INTERVAL_MS) return session;
  session.lastSeenAt = now;
  const touch = (tx: Tx) => sql`select tsv_touch_session(${claims.sid}, ${new Date(now)}, ${new Date(now - TOUCH_INTERVAL_MS)})`.execute(tx);
  void inPlane(deps.db, claims.tenant_id, touch).catch(() => {
    // The next request of the session tries again.
    session.lastSeenAt = 0;
  });
  return session;
}

/** The key in X-API-Key, or a bearer value in the API key format; null when neither is presented. */
function presentedApiKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header.trim();
  const bearer = bearerToken(request);
  return bearer?.startsWith('tsv_key_') ? bearer : null;
}

async function apiKeyActor(deps: GuardDependencies, key: string): Promise<Actor> {
  const actor = deps.apiKeys ? await deps.apiKeys.authenticate(key) : null;
  if (!actor) throw new AppError('unauthorized', 'A valid API key is required.');
  return actor;
}

/**
 * Runs before the body is read: authenticates the caller, proves the session is live, refuses a
 * tenant path that is not the token's tenant (a security event) and checks the route's permission.
 */
export function guard(deps: GuardDependencies) {
  return async function onRequest(request: FastifyRequest) {
    const access = request.routeOptions.config?.access;
    if (!access || access === 'public') return;
    // Managed applications call with an application key, never a user token (FR-SYS-002): the
    // authenticator sets request.ctx.app, or refuses with 401 (no valid key) or 403 (scope missing).
    if (isAppAccess(access)) {
      if (!deps.apps) throw new AppError('unauthorized');
      return deps.apps.authenticate(request, access.slice('app:'.length));
    }

    // Tenant API keys (FR-AUTH-012): `tsv_key_…` as the bearer value or in X-API-Key, never a JWT.
    const apiKey = presentedApiKey(request);
    const actor: Actor = apiKey !== null ? await apiKeyActor(deps, apiKey) : await (async () => {
      const token = bearerToken(request);
      if (!token) throw new AppError('unauthorized');
      let claims;
      try {
        claims = await deps.tokens.verify(token);
      } catch {
        throw new AppError('unauthorized', 'The access token is not valid.');
      }
      const found = await activeSession(deps, claims);
      if (!found) throw new AppError('unauthorized', 'The session has ended.');
      if (!bindsTo(claims, found)) {
        // Correctly signed, yet naming another user, tenant or impersonator than its session: only a
        // holder of the signing key makes such a token.
        await recordSecurityEvent(deps.db, request.ctx, {
          tenantId: null,
          action: 'security.token_session_mismatch',
          severity: 'critical',
          metadata: { session_id: claims.sid, session_tenant_id: found.tenantId, token_tenant_id: claims.tenant_id, route: request.routeOptions.url, method: request.method },
        });
        throw new AppError('unauthorized', 'The access token is not valid.');
      }
      const session = touched(deps, claims, found);
      // FR-VER-001, FR-VER-002: an unverified user signs in, but only routes declared allowUnverified
      // answer. An impersonating staff member is not gated by the user's verification.
      if (session.unverified && !session.impersonatorId && !request.routeOptions.config?.allowUnverified) {
        throw session.unverified === 'email'
          ? new AppError('email-unverified', 'Verify your email address first: open the link in the mail we sent, or enter its code.')
          : new AppError('phone-unverified', 'Your organization requires a verified phone number: add it and enter the code we send.');
      }
      return {
        type: claims.tenant_id === null ? 'operator' : 'user',
        userId: claims.sub,
        tenantId: claims.tenant_id,
        roles: claims.roles,
        sessionId: claims.sid,
        amr: claims.amr,
        mfaAt: claims.mfa_at ?? null,
        grants: session.grants,
        impersonatorId: session.impersonatorId,
        impersonationReason: session.impersonationReason ?? null,
        platformRegion: session.platformRegion ?? null,
      } satisfies Actor;
    })();
    request.ctx.actor = actor;
    request.ctx.log = request.ctx.log.child({ tenantId: actor.tenantId, userId: actor.userId });

    // FR-RBAC-005: deny by default. An impersonation session reads, and writes only where the route
    // allows it, so that nothing it does grants access beyond its own end; whatever its grants say.
    if (actor.impersonatorId && !isRead(request.method) && request.routeOptions.config?.impersonation !== 'allowed') {
      await recordSecurityEvent(deps.db, request.ctx, {
        tenantId: actor.tenantId,
        action: 'security.impersonation_forbidden',
        severity: 'high',
        metadata: { session_id: actor.sessionId, method: request.method, route: request.routeOptions.url },
      });
      throw new AppError('impersonation-forbidden', 'An impersonation session cannot make this change: it reads, and changes only what support needs.');
    }

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
    if (access === 'authenticated') return;
    const reach = reachOf(actor.grants, access);
    if (reach === null) {
      await recordSecurityEvent(deps.db, request.ctx, {
        tenantId: actor.tenantId,
        action: 'security.permission_denied',
        severity: 'low',
        metadata: { permission: access, route: request.routeOptions.url, method: request.method },
      });
      throw new AppError('forbidden', `This action needs the permission ${access}.`);
    }
    request.ctx.reach = reach;
    // FR-AUTH-014: people (not API keys) need a recent second factor for sensitive actions.
    const person = actor.type === 'user' || actor.type === 'operator';
    const stepUp = isSensitive(access) || request.routeOptions.config?.stepUp === true;
    if (deps.stepUp?.enforced && person && stepUp && !recentSecondFactor(actor, deps.stepUp.maxAgeSeconds)) {
      throw stepUpRequired(deps.stepUp.maxAgeSeconds);
    }
  };
}
