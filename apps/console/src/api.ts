/**
 * Typed fetch client for the TSV Baseline API (same origin).
 *
 * - Tokens live in memory and are mirrored to sessionStorage so a reload keeps the session
 *   (but a new tab / closed browser does not).
 * - On a 401 the client refreshes once with the refresh token and retries the request once.
 * - Error responses (RFC 7807 application/problem+json) become `ApiError`s carrying `title`/`detail`.
 */

export interface Tokens {
  access_token: string;
  /** Absent for impersonation sessions, which cannot be renewed. */
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  tenant_id: string | null;
  tenant_slug: string | null;
  roles: string[];
  /** Effective permission keys of the session: what the console shows and offers. */
  permissions: string[];
  session_id: string;
  amr: string[];
  /** Set while platform support staff act as this user (FR-RBAC-005). */
  impersonator: { id: string; email?: string } | null;
  impersonation_expires_at: string | null;
}

export interface CatalogPermission {
  key: string;
  description: string;
  plane: 'tenant' | 'platform';
  sensitive: boolean;
}

export interface Catalog {
  version: number;
  items: CatalogPermission[];
}

export interface Role {
  id: string;
  /** Set for the default roles, which cannot be changed or deleted. */
  key: string | null;
  name: string;
  description: string;
  permissions: string[];
  version: number;
  created_at: string;
  updated_at: string;
}

export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

export interface Unit {
  id: string;
  parent_id: string | null;
  name: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Assignment {
  id: string;
  user_id: string;
  role_id: string;
  /** Null: the role holds in the whole organization. */
  unit_id: string | null;
  created_at: string;
}

export interface UserRole {
  assignment_id: string;
  role_id: string;
  key: string | null;
  name: string;
  unit_id: string | null;
}

export interface User {
  id: string;
  /** For a deleted user, the address it had. */
  email: string;
  name: string;
  status: 'active' | 'disabled' | 'deleted';
  roles: UserRole[];
  version: number;
  created_at: string;
  deleted_at: string | null;
}

export interface UserFilters {
  q?: string;
  status?: string;
  role_id?: string;
  unit_id?: string;
}

export interface Invitation {
  id: string;
  email: string;
  role_id: string;
  unit_id: string | null;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expires_at: string;
  sent_count: number;
  last_sent_at: string;
  accepted_at: string | null;
  created_at: string;
}

export interface InvitationPage extends Page<Invitation> {
  /** How long new invitations of the organization stay valid. */
  expiry_days: number;
}

export interface InvitationInput {
  email: string;
  role_id: string;
  unit_id?: string;
}

export interface AuditEvent {
  id: string;
  tenant_id: string | null;
  seq: number;
  occurred_at: string;
  category: 'audit' | 'security';
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: 'success' | 'failure' | 'denied';
  ip: string | null;
  user_agent: string | null;
  correlation_id: string | null;
  metadata: Record<string, unknown>;
}

/** Search filters of the audit log; `tenant` and `region` exist on the platform view only. */
export interface AuditFilters {
  action?: string;
  actor_id?: string;
  actor_type?: string;
  resource_type?: string;
  resource_id?: string;
  outcome?: string;
  category?: string;
  severity?: string;
  from?: string;
  to?: string;
  correlation_id?: string;
  tenant?: string;
  region?: string;
}

export interface Impersonation {
  access_token: string;
  expires_at: string;
  session_id: string;
}

export interface Customer {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface NewCustomer {
  name: string;
  email?: string;
  phone?: string;
}

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  plan: string;
  region: string;
  status: string;
  version: number;
  created_at: string;
}

export const REGIONS = ['US', 'EU', 'UK', 'JP'] as const;

export interface NewTenant {
  name: string;
  slug: string;
  region: string;
  plan?: string;
  owner: { email: string; name?: string; password?: string };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  correlation_id?: string;
  errors?: { path: string; message: string }[];
  /** Password-policy rules a refused password breaks (weak-password). */
  unmet_rules?: PasswordRule[];
}

export interface PasswordRule {
  rule: string;
  message: string;
}

/** One of the signed-in user's sessions; `current` marks the one making the request. */
export interface SessionSummary {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  device_id: string | null;
  new_device: boolean;
  amr: string[];
  impersonated: boolean;
  current: boolean;
}

export interface Device {
  id: string;
  os: string | null;
  app_version: string | null;
  ip: string | null;
  first_seen_at: string;
  last_seen_at: string;
  active_sessions: number;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly type: string | undefined;
  readonly correlationId: string | undefined;
  readonly errors: { path: string; message: string }[];
  readonly unmetRules: PasswordRule[];

  constructor(status: number, problem: Problem) {
    const title = problem.title?.trim() || (status ? `Request failed (${status})` : 'Network error');
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = problem.detail?.trim() || undefined;
    this.type = problem.type;
    this.correlationId = problem.correlation_id;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.unmetRules = Array.isArray(problem.unmet_rules) ? problem.unmet_rules : [];
  }
}

const STORAGE_KEY = 'tsv.console.tokens';
/** The support staff member's own session, kept while they act as a tenant user. */
const STAFF_STORAGE_KEY = 'tsv.console.staff-tokens';

function readStoredTokens(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Tokens>;
    return typeof parsed.access_token === 'string' ? (parsed as Tokens) : null;
  } catch {
    return null;
  }
}

let tokens: Tokens | null = readStoredTokens();
let refreshing: Promise<boolean> | null = null;
const sessionListeners = new Set<() => void>();

function setTokens(next: Tokens | null): void {
  const hadTokens = tokens !== null;
  tokens = next;
  try {
    if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage unavailable (private mode); memory copy still works */
  }
  if (hadTokens && !next) sessionListeners.forEach((fn) => fn());
}

/** Called when the session ends (sign out, or refresh failed). Returns an unsubscribe function. */
export function onSessionEnded(fn: () => void): () => void {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

export function hasSession(): boolean {
  return tokens !== null;
}

async function toApiError(res: Response): Promise<ApiError> {
  let problem: Problem = {};
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body: unknown = await res.json();
      if (body && typeof body === 'object') problem = body as Problem;
    } catch {
      /* malformed body: fall back to the status line */
    }
  }
  if (!problem.title && res.statusText) problem = { ...problem, title: res.statusText };
  return new ApiError(res.status, problem);
}

async function send(method: string, path: string, body: unknown, auth: boolean, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept: `${accept}, application/problem+json` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth && tokens) headers.authorization = `Bearer ${tokens.access_token}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, { title: 'Network error', detail: 'Could not reach the server. Check your connection and try again.' });
  }
}

async function parse<T>(res: Response): Promise<T> {
  if (!res.ok) throw await toApiError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Refresh the token pair once; concurrent callers share the same attempt. */
function refreshTokens(): Promise<boolean> {
  if (!tokens?.refresh_token) return Promise.resolve(false);
  refreshing ??= (async () => {
    const refresh_token = tokens?.refresh_token;
    try {
      const res = await send('POST', '/v1/auth/refresh', { refresh_token }, false);
      if (!res.ok) return false;
      setTokens((await res.json()) as Tokens);
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Authenticated request: retries once after a successful token refresh on 401. */
async function authorized(method: string, path: string, body: unknown, accept?: string): Promise<Response> {
  const sentWith = tokens?.access_token;
  let res = await send(method, path, body, true, accept);
  if (res.status === 401 && tokens) {
    // Another request may already have refreshed the pair while this one was in flight.
    const ok = tokens.access_token !== sentWith || (await refreshTokens());
    if (ok) res = await send(method, path, body, true, accept);
    if (res.status === 401) {
      const err = await toApiError(res);
      setTokens(null);
      throw err;
    }
  }
  return res;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  return parse<T>(await authorized(method, path, body));
}

/** A file the API answers with (CSV exports): its content and the name the server suggests. */
export async function download(path: string): Promise<{ blob: Blob; filename: string }> {
  const res = await authorized('GET', path, undefined, 'text/csv');
  if (!res.ok) throw await toApiError(res);
  const disposition = res.headers.get('content-disposition') ?? '';
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? 'export.csv';
  return { blob: await res.blob(), filename };
}

export async function login(email: string, password: string, tenant?: string): Promise<void> {
  const body: { email: string; password: string; tenant?: string } = { email, password };
  if (tenant) body.tenant = tenant;
  const res = await send('POST', '/v1/auth/login', body, false);
  setTokens(await parse<Tokens>(res));
}

/** Public: turns an invitation into an account and signs it in. */
export async function acceptInvitation(input: { token: string; password: string; name?: string }): Promise<void> {
  const res = await send('POST', '/v1/invitations/accept', input, false);
  setTokens(await parse<Tokens>(res));
}

/** Public: asks for a reset link by mail. The answer is the same whether or not the account exists. */
export async function requestPasswordReset(input: { email: string; tenant?: string }): Promise<void> {
  await parse<unknown>(await send('POST', '/v1/auth/password-reset', input, false));
}

/** Public: sets a new password with the token from a reset link. */
export async function confirmPasswordReset(input: { token: string; new_password: string }): Promise<void> {
  await parse<void>(await send('POST', '/v1/auth/password-reset/confirm', input, false));
}

/** Support staff: switch to an impersonation session, keeping their own to return to. */
export function beginImpersonation(impersonation: Impersonation): void {
  try {
    if (tokens) sessionStorage.setItem(STAFF_STORAGE_KEY, JSON.stringify(tokens));
  } catch {
    /* storage unavailable: ending the impersonation then signs out */
  }
  setTokens({ access_token: impersonation.access_token });
}

/** Takes the support staff member's own session out of storage, if one is kept there. */
function takeStaffTokens(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(STAFF_STORAGE_KEY);
    sessionStorage.removeItem(STAFF_STORAGE_KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<Tokens>) : null;
    return parsed && typeof parsed.access_token === 'string' ? (parsed as Tokens) : null;
  } catch {
    return null;
  }
}

async function endSession(): Promise<void> {
  try {
    if (tokens) await send('POST', '/v1/auth/logout', undefined, true);
  } catch {
    /* signing out locally is what matters */
  }
}

/**
 * Ends an impersonation session on the server. Returns true when the staff member's own session
 * was restored; otherwise the console is signed out.
 */
export async function endImpersonation(): Promise<boolean> {
  await endSession();
  const staff = takeStaffTokens();
  setTokens(staff);
  return staff !== null;
}

/** Signs out; during an impersonation, the staff member's own session ends too. */
export async function logout(): Promise<void> {
  await endSession();
  const staff = takeStaffTokens();
  if (staff) {
    // The staff member's access token may have expired meanwhile: this call may refresh it first.
    tokens = staff;
    await authorized('POST', '/v1/auth/logout', undefined).catch(() => undefined);
  }
  setTokens(null);
}

function query(params: object): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

const tenantPath = (tenantId: string, rest: string) => `/v1/tenants/${encodeURIComponent(tenantId)}/${rest}`;
const id = encodeURIComponent;

export const api = {
  me: () => request<Me>('GET', '/v1/me'),
  catalog: () => request<Catalog>('GET', '/v1/permissions'),
  changePassword: (input: { current_password: string; new_password: string }) => request<void>('POST', '/v1/me/password', input),
  listOwnSessions: () => request<{ items: SessionSummary[] }>('GET', '/v1/me/sessions'),
  revokeOwnSession: (sessionId: string) => request<void>('DELETE', `/v1/me/sessions/${id(sessionId)}`),
  listOwnDevices: () => request<{ items: Device[] }>('GET', '/v1/me/devices'),
  forgetOwnDevice: (deviceId: string) => request<void>('DELETE', `/v1/me/devices/${id(deviceId)}`),

  listRoles: (tenantId: string) => request<Page<Role>>('GET', tenantPath(tenantId, 'roles')),
  createRole: (tenantId: string, input: RoleInput) => request<Role>('POST', tenantPath(tenantId, 'roles'), input),
  updateRole: (tenantId: string, roleId: string, input: RoleInput & { version: number }) =>
    request<Role>('PATCH', tenantPath(tenantId, `roles/${id(roleId)}`), input),
  deleteRole: (tenantId: string, roleId: string) => request<void>('DELETE', tenantPath(tenantId, `roles/${id(roleId)}`)),

  listUnits: (tenantId: string) => request<Page<Unit>>('GET', tenantPath(tenantId, 'units')),
  createUnit: (tenantId: string, input: { name: string; parent_id: string | null }) =>
    request<Unit>('POST', tenantPath(tenantId, 'units'), input),
  updateUnit: (tenantId: string, unitId: string, input: { name: string; parent_id: string | null; version: number }) =>
    request<Unit>('PATCH', tenantPath(tenantId, `units/${id(unitId)}`), input),
  deleteUnit: (tenantId: string, unitId: string) => request<void>('DELETE', tenantPath(tenantId, `units/${id(unitId)}`)),

  listAssignments: (tenantId: string, filters: { user_id?: string; role_id?: string; unit_id?: string } = {}) =>
    request<Page<Assignment>>('GET', tenantPath(tenantId, `role-assignments${query(filters)}`)),
  assign: (tenantId: string, input: { user_id: string; role_id: string; unit_id: string | null }) =>
    request<Assignment>('POST', tenantPath(tenantId, 'role-assignments'), input),
  unassign: (tenantId: string, assignmentId: string) =>
    request<void>('DELETE', tenantPath(tenantId, `role-assignments/${id(assignmentId)}`)),

  listUsers: (tenantId: string, opts: UserFilters & { cursor?: string; limit?: number } = {}) =>
    request<Page<User>>('GET', tenantPath(tenantId, `users${query({ limit: 50, ...opts })}`)),
  setUserRole: (tenantId: string, user: User, input: { role_id: string; unit_id: string | null }) =>
    request<User>('PUT', tenantPath(tenantId, `users/${id(user.id)}/role`), { ...input, version: user.version }),
  disableUser: (tenantId: string, userId: string) => request<User>('POST', tenantPath(tenantId, `users/${id(userId)}/disable`)),
  enableUser: (tenantId: string, userId: string) => request<User>('POST', tenantPath(tenantId, `users/${id(userId)}/enable`)),
  deleteUser: (tenantId: string, user: User) =>
    request<void>('DELETE', tenantPath(tenantId, `users/${id(user.id)}${query({ version: user.version })}`)),

  listInvitations: (tenantId: string, opts: { cursor?: string; status?: string } = {}) =>
    request<InvitationPage>('GET', tenantPath(tenantId, `invitations${query(opts)}`)),
  invite: (tenantId: string, input: InvitationInput) => request<Invitation>('POST', tenantPath(tenantId, 'invitations'), input),
  resendInvitation: (tenantId: string, invitationId: string) =>
    request<Invitation>('POST', tenantPath(tenantId, `invitations/${id(invitationId)}/resend`)),
  revokeInvitation: (tenantId: string, invitationId: string) =>
    request<void>('DELETE', tenantPath(tenantId, `invitations/${id(invitationId)}`)),
  setInvitationExpiry: (tenantId: string, expiryDays: number) =>
    request<{ expiry_days: number }>('PUT', tenantPath(tenantId, 'invitation-settings'), { expiry_days: expiryDays }),

  /** The tenant's own log, or (tenantId null) the platform view of every log. */
  listAuditEvents: (tenantId: string | null, filters: AuditFilters, cursor?: string) =>
    request<Page<AuditEvent>>('GET', `${auditBase(tenantId)}${query({ limit: 50, ...filters, cursor })}`),
  exportAuditEvents: (tenantId: string | null, filters: AuditFilters) => download(`${auditBase(tenantId)}.csv${query(filters)}`),

  startImpersonation: (input: { tenant_id: string; user_id: string; reason: string; ticket_id?: string }) =>
    request<Impersonation>('POST', '/v1/platform/impersonations', input),
  listCustomers: (tenantId: string, opts: { cursor?: string; q?: string; limit?: number } = {}) =>
    request<Page<Customer>>(
      'GET',
      `/v1/tenants/${encodeURIComponent(tenantId)}/customers${query({ limit: opts.limit ?? 20, cursor: opts.cursor, q: opts.q })}`,
    ),
  createCustomer: (tenantId: string, input: NewCustomer) =>
    request<Customer>('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/customers`, input),
  listTenants: (opts: { cursor?: string; limit?: number; status?: string } = {}) =>
    request<Page<Tenant>>('GET', `/v1/platform/tenants${query({ limit: opts.limit ?? 20, cursor: opts.cursor, status: opts.status })}`),
  createTenant: (input: NewTenant) => request<Tenant>('POST', '/v1/platform/tenants', input),
  suspendTenant: (tenantId: string) => request<Tenant>('POST', `/v1/platform/tenants/${id(tenantId)}/suspend`),
  reactivateTenant: (tenantId: string) => request<Tenant>('POST', `/v1/platform/tenants/${id(tenantId)}/reactivate`),
};

function auditBase(tenantId: string | null): string {
  return tenantId ? tenantPath(tenantId, 'audit-events') : '/v1/platform/audit-events';
}

/** Input the console refuses before sending it; its message is the whole explanation. */
export class InputError extends Error {}

/** Human-readable message for any thrown value. */
export function errorMessage(err: unknown): { title: string; detail?: string } {
  if (err instanceof InputError) return { title: err.message };
  if (err instanceof ApiError) {
    const parts = [err.detail && err.detail !== err.title ? err.detail : '', ...err.errors.map((e) => `${e.path.replace(/^\//, '') || 'request'}: ${e.message}`)];
    const detail = parts.filter(Boolean).join(' ');
    return detail ? { title: err.title, detail } : { title: err.title };
  }
  return { title: 'Something went wrong', detail: err instanceof Error ? err.message : String(err) };
}
