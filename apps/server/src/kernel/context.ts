import type { Grants, Permission, Reach } from './auth/permissions.ts';
import type { Region } from './db/schema.ts';
import { AppError } from './errors.ts';
import type { Logger } from './log.ts';

export interface Actor {
  type: 'user' | 'operator' | 'system' | 'api_key';
  userId: string;
  tenantId: string | null;
  /** Role keys named in the access token (informative; permissions come from `grants`). */
  roles: string[];
  sessionId: string;
  amr: string[];
  /** When the session last proved a second factor (epoch seconds), from the access token (FR-AUTH-014). */
  mfaAt?: number | null;
  /** Effective permissions, resolved from the database once per session and cached. */
  grants: Grants;
  /** The platform staff member acting as this user, during impersonation (FR-RBAC-005). */
  impersonatorId?: string | null;
  /** Why the staff member is impersonating, as given when the session was started (FR-RBAC-005). */
  impersonationReason?: string | null;
  /** The only region a staff member's cross-tenant views cover, when bound to one (CON-ARCH-007). */
  platformRegion?: Region | null;
}

/** A managed application calling with one of its keys (FR-SYS-002). */
export interface AppPrincipal {
  appId: string;
  keyId: string;
  scopes: readonly string[];
  /** The tenants the key may act for; null for every tenant. */
  tenantIds: readonly string[] | null;
}

/** One per request (or job), passed first to every service function. */
export interface RequestContext {
  correlationId: string;
  ip: string | null;
  userAgent: string | null;
  actor: Actor | null;
  /** Set instead of `actor` when a managed application calls with an application key. */
  app?: AppPrincipal | null;
  /**
   * The organization units the current route's permission reaches ('all' for tenant-wide), set by
   * the guard; unit-scoped tables filter on it in the database (FR-TEN-005).
   */
  reach: Reach;
  log: Logger;
}

/** The context of a route only a signed-in caller reaches: the guard has set its actor. */
export interface SignedInContext extends RequestContext {
  actor: Actor;
}

/** The request's context as a signed-in caller's; a route that lets anyone in has none (401). */
export function signedIn(ctx: RequestContext): SignedInContext {
  if (!ctx.actor) throw new AppError('unauthorized');
  return ctx as SignedInContext;
}

/** The tenant and unit scope a tenant transaction runs in. */
export interface TenantScope {
  tenantId: string;
  units: Reach;
}

/** The scope of the signed-in caller, for `db.withTenant`: its tenant and the route's unit reach. */
export function scopeOf(ctx: RequestContext): TenantScope {
  const tenantId = ctx.actor?.tenantId;
  if (!tenantId) throw new AppError('forbidden', 'This action needs an organization context.');
  return { tenantId, units: ctx.reach };
}

/** Where the caller holds a permission, for services that check more than the route declares. */
export function reachIn(ctx: RequestContext, permission: Permission): Reach | null {
  return ctx.actor?.grants.get(permission) ?? null;
}
