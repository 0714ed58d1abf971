import type { Me } from './api';

/**
 * Hash routes: the public pages (#/login, #/accept-invitation?token=…, #/forgot-password,
 * #/reset-password?token=…), the signed-in user's #/account, and one per screen below.
 */
export type Route =
  | 'login'
  | 'accept-invitation'
  | 'forgot-password'
  | 'reset-password'
  | 'sso-complete'
  | 'verify-email'
  | 'account'
  | 'customers'
  | 'users'
  | 'invitations'
  | 'roles'
  | 'units'
  | 'assignments'
  | 'audit'
  | 'tenants'
  | 'sso'
  | 'security';

export type ScreenRoute = Exclude<Route, PublicRoute | 'login' | 'account'>;

/** Pages anyone holding the link may open, signed in or not. */
export type PublicRoute = 'accept-invitation' | 'forgot-password' | 'reset-password' | 'sso-complete' | 'verify-email';

const PUBLIC_ROUTES = new Set<Route>(['accept-invitation', 'forgot-password', 'reset-password', 'sso-complete', 'verify-email']);

export function isPublic(route: Route): route is PublicRoute {
  return PUBLIC_ROUTES.has(route);
}

/** Every signed-in user's own account page, reached from the top bar rather than the navigation. */
export const ACCOUNT_LABEL = 'Account';

export function can(me: Me, permission: string): boolean {
  return me.permissions.includes(permission);
}

export interface Screen {
  route: ScreenRoute;
  label: string;
  allowed: (me: Me) => boolean;
}

const inTenant = (me: Me) => me.tenant_id !== null;
const onPlatform = (me: Me) => me.tenant_id === null;

/**
 * The screens in navigation order, each shown only to holders of the permissions it needs (the
 * server enforces them anyway). The access-structure screens (users, roles, units, assignments)
 * also need `roles.read`: they show who holds which role where, so a Member, who may list users
 * and units for everyday work, sees no administration.
 */
const SCREENS: readonly Screen[] = [
  { route: 'customers', label: 'Customers', allowed: (me) => inTenant(me) && can(me, 'customers.read') },
  { route: 'users', label: 'Users', allowed: (me) => inTenant(me) && can(me, 'users.read') && can(me, 'roles.read') },
  { route: 'invitations', label: 'Invitations', allowed: (me) => inTenant(me) && can(me, 'users.invite') },
  { route: 'roles', label: 'Roles', allowed: (me) => inTenant(me) && can(me, 'roles.read') },
  { route: 'units', label: 'Units', allowed: (me) => inTenant(me) && can(me, 'units.read') && can(me, 'roles.read') },
  { route: 'assignments', label: 'Assignments', allowed: (me) => inTenant(me) && can(me, 'roles.read') },
  { route: 'sso', label: 'Single sign-on', allowed: (me) => inTenant(me) && can(me, 'sso.manage') },
  { route: 'security', label: 'Security', allowed: (me) => inTenant(me) && can(me, 'settings.manage') },
  { route: 'tenants', label: 'Tenants', allowed: (me) => onPlatform(me) && can(me, 'platform.tenants.read') },
  {
    route: 'audit',
    label: 'Audit log',
    allowed: (me) => (inTenant(me) ? can(me, 'audit.read') : can(me, 'platform.audit.read')),
  },
];

const ROUTES = new Set<string>(['login', 'account', ...PUBLIC_ROUTES, ...SCREENS.map((s) => s.route)]);

export function screensFor(me: Me): Screen[] {
  return SCREENS.filter((s) => s.allowed(me));
}

export function isAllowed(me: Me, route: Route): boolean {
  return route === 'account' || SCREENS.some((s) => s.route === route && s.allowed(me));
}

/** The first screen the user may open, or null when their roles give them none. */
export function homeRoute(me: Me): ScreenRoute | null {
  return screensFor(me)[0]?.route ?? null;
}

export function labelOf(route: Route): string {
  if (route === 'account') return ACCOUNT_LABEL;
  return SCREENS.find((s) => s.route === route)?.label ?? '';
}

export function readRoute(): Route {
  const path = window.location.hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? '';
  return ROUTES.has(path) ? (path as Route) : 'login';
}

/** Parameters after the route in the hash: #/accept-invitation?token=… */
export function hashParams(): URLSearchParams {
  const hash = window.location.hash;
  const at = hash.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : hash.slice(at + 1));
}

export function navigate(route: Route, replace = false): void {
  const hash = `#/${route}`;
  if (window.location.hash === hash) return;
  if (replace) {
    history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = hash;
  }
}
