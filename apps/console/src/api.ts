/**
 * Typed fetch client for the TSV Baseline API (same origin).
 *
 * - Tokens live in memory and are mirrored to sessionStorage so a reload keeps the session
 *   (but a new tab / closed browser does not).
 * - On a 401 the client refreshes once with the refresh token and retries the request once.
 * - Error responses (RFC 7807 application/problem+json) become `ApiError`s carrying `title`/`detail`.
 */
import type { components } from '@tsv/sdk';

/** The API's types, generated from the server's OpenAPI document. */
type Schemas = components['schemas'];

export interface Tokens {
  access_token: string;
  /** Absent for impersonation sessions, which cannot be renewed. */
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  /** The device of a tenant user's session, sent again at the next login (rememberDevice). */
  device_id?: string;
}

export type Me = Schemas['MeResponse'];

export type CodeChannel = 'sms' | 'whatsapp' | 'email';

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

export type Role = Schemas['Role'];

export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

export type Unit = Schemas['Unit'];

export interface Assignment {
  id: string;
  user_id: string;
  role_id: string;
  /** Null: the role holds in the whole organization. */
  unit_id: string | null;
  created_at: string;
}

export type UserRole = Schemas['UserRole'];

export type User = Schemas['User'];

export interface UserFilters {
  q?: string;
  status?: string;
  role_id?: string;
  unit_id?: string;
}

export type Invitation = Schemas['Invitation'];

export interface InvitationPage extends Page<Invitation> {
  /** How long new invitations of the organization stay valid. */
  expiry_days: number;
}

export interface InvitationInput {
  email: string;
  role_id: string;
  unit_id?: string;
}

export type AuditEvent = Schemas['AuditEvent'];

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

export type Customer = Schemas['Customer'];

export interface NewCustomer {
  name: string;
  email?: string;
  phone?: string;
}

export type Tenant = Schemas['Tenant'];

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
  /** The sign-in challenge of an mfa-required answer (ERR-AUTH-461). */
  challenge_token?: string;
  methods?: MfaMethod[];
  enrollment_required?: boolean;
  expires_in?: number;
  /** Codes left on the challenge after a wrong one (mfa-code-invalid). */
  attempts_left?: number;
}

export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';

/** What a sign-in waits for after the password: a second factor, or enrolling one first. */
export interface MfaChallenge {
  challenge_token: string;
  methods: MfaMethod[];
  enrollment_required: boolean;
  expires_in: number;
}

/** One second factor of the signed-in user. */
export type MfaFactor = Schemas['MfaFactor'];

export type TotpEnrolment = Schemas['TotpEnrolment'];

/** Exactly one second factor; the WebAuthn response as @simplewebauthn/browser returns it. */
export type SecondFactor = { totp_code: string } | { recovery_code: string } | { webauthn: unknown };

export interface PasswordRule {
  rule: string;
  message: string;
}

/** One of the signed-in user's sessions; `current` marks the one making the request. */
export type SessionSummary = Schemas['SessionSummary'];

export type Device = Schemas['Device'];

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly type: string | undefined;
  readonly correlationId: string | undefined;
  readonly errors: { path: string; message: string }[];
  readonly unmetRules: PasswordRule[];
  readonly problem: Problem;

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
    this.problem = problem;
  }
}

/** The challenge of a sign-in that needs a second factor (401 mfa-required), or null for any other error. */
export function mfaChallengeOf(err: unknown): MfaChallenge | null {
  if (!(err instanceof ApiError) || err.type !== '/problems/mfa-required' || !err.problem.challenge_token) return null;
  const { challenge_token, methods = [], enrollment_required = false, expires_in = 300 } = err.problem;
  return { challenge_token, methods, enrollment_required, expires_in };
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
  // FR-AUTH-014: a sensitive action asks for a recent second factor; once proven, it is sent again.
  if (res.status === 403 && stepUpHandler && (await isStepUpRequired(res)) && (await stepUpHandler())) {
    res = await send(method, path, body, true, accept);
  }
  return res;
}

let stepUpHandler: (() => Promise<boolean>) | null = null;

/** Registers what asks the user for a second factor (the step-up dialog); it answers whether they gave one. */
export function onStepUpRequired(handler: () => Promise<boolean>): () => void {
  stepUpHandler = handler;
  return () => {
    if (stepUpHandler === handler) stepUpHandler = null;
  };
}

async function isStepUpRequired(res: Response): Promise<boolean> {
  try {
    const problem = (await res.clone().json()) as Problem;
    return problem.type === '/problems/step-up-required';
  } catch {
    return false;
  }
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

/**
 * The device id the API gave this browser for each login name (FR-AUTH-008), sent again at the next
 * login: a device that signed in before is a source of its own for the login lockout, so failures
 * from elsewhere cannot lock its user out of it (docs/passwords-and-lockout.md). Kept beyond the tab.
 */
const DEVICES_STORAGE_KEY = 'tsv.console.devices';
const loginName = (email: string, tenant: string) => `${tenant.trim().toLowerCase()} ${email.trim().toLowerCase()}`;
/** The login name of a sign-in waiting for its second factor: its device id comes with the tokens. */
let pendingLoginName: string | null = null;

function rememberedDevices(): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(DEVICES_STORAGE_KEY) ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function rememberDevice(name: string | null, deviceId: string | undefined): void {
  if (!name || !deviceId) return;
  try {
    localStorage.setItem(DEVICES_STORAGE_KEY, JSON.stringify({ ...rememberedDevices(), [name]: deviceId }));
  } catch {
    /* storage unavailable (private mode): the next login is from a new device */
  }
}

export async function login(email: string, password: string, tenant?: string): Promise<void> {
  const body: { email: string; password: string; tenant?: string; device?: { id: string } } = { email, password };
  // Only tenant users have devices.
  pendingLoginName = tenant ? loginName(email, tenant) : null;
  if (tenant) body.tenant = tenant;
  const deviceId = pendingLoginName ? rememberedDevices()[pendingLoginName] : undefined;
  // A damaged entry is left out rather than refused by the API (it wants a UUID).
  if (deviceId && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(deviceId)) body.device = { id: deviceId };
  const res = await send('POST', '/v1/auth/login', body, false);
  const pair = await parse<Tokens>(res);
  rememberDevice(pendingLoginName, pair.device_id);
  setTokens(pair);
}

/** An organization's OIDC identity provider (FR-AUTH-003); the client secret is write-only. */
export type SsoConfig = Schemas['SsoConfig'];

export interface SsoConfigInput {
  issuer: string;
  client_id: string;
  client_secret?: string;
  allowed_domains: string[];
  enabled: boolean;
  default_role: string;
  link_existing_accounts: boolean;
  version?: number;
}

/** Public: whether an organization (by its short name) signs in with single sign-on. */
export async function ssoAvailable(slug: string): Promise<boolean> {
  const res = await send('GET', `/v1/auth/sso/${encodeURIComponent(slug)}`, undefined, false);
  return res.ok && ((await res.json()) as { enabled: boolean }).enabled;
}

/** Public: whether platform staff sign in with the company identity provider. */
export async function platformSsoAvailable(): Promise<boolean> {
  const res = await send('GET', '/v1/auth/platform-sso', undefined, false);
  return res.ok && ((await res.json()) as { enabled: boolean }).enabled;
}

/** Where the browser goes to sign in with an identity provider (a full-page navigation). */
export const ssoStartUrl = (slug: string | null) => (slug ? `/v1/auth/sso/${encodeURIComponent(slug)}/start` : '/v1/auth/platform-sso/start');

/** Public: trades the one-time code of a completed SSO sign-in for the token pair. */
export async function exchangeSsoCode(code: string): Promise<void> {
  setTokens(await parse<Tokens>(await send('POST', '/v1/auth/sso/exchange', { code }, false)));
}

export const ssoApi = {
  get: (tenantId: string) => request<SsoConfig>('GET', `/v1/tenants/${encodeURIComponent(tenantId)}/sso`),
  save: (tenantId: string, input: SsoConfigInput) => request<SsoConfig>('PUT', `/v1/tenants/${encodeURIComponent(tenantId)}/sso`, input),
  remove: (tenantId: string) => request<void>('DELETE', `/v1/tenants/${encodeURIComponent(tenantId)}/sso`),
  /** Starts linking the signed-in account: the provider URL to open (the binding cookie comes with the answer). */
  startLink: () => request<{ location: string }>('POST', '/v1/auth/sso/link'),
};

/** The organization's password rules (FR-AUTH-006): never weaker than the platform minimum. */
export interface PasswordPolicy {
  tenant_id: string;
  min_length: number;
  require_all_classes: boolean;
  history: number;
  /** The guess estimate (zxcvbn score, 3 or 4) new passwords must reach. */
  min_strength: number;
  /** 0 while the organization uses the platform minimum. */
  version: number;
}

/** Session lifetimes in seconds (FR-AUTH-008); null uses the platform's, `effective` is what applies. */
export type SessionPolicy = Schemas['SessionPolicy'];

/** Who must sign in with a second factor (NFR-SEC-003), and whether new devices are challenged. */
export type MfaPolicy = Schemas['MfaPolicy'];

/** Whether members must verify a phone number, and the channel codes go by (FR-VER-002). */
export type VerificationPolicy = Schemas['VerificationPolicy'];

export const securityApi = {
  passwordPolicy: (tenantId: string) => request<PasswordPolicy>('GET', tenantPath(tenantId, 'password-policy')),
  savePasswordPolicy: (tenantId: string, input: Pick<PasswordPolicy, 'min_length' | 'require_all_classes' | 'history' | 'min_strength'>) =>
    request<PasswordPolicy>('PUT', tenantPath(tenantId, 'password-policy'), input),
  sessionPolicy: (tenantId: string) => request<SessionPolicy>('GET', tenantPath(tenantId, 'session-policy')),
  saveSessionPolicy: (tenantId: string, input: Pick<SessionPolicy, 'idle_timeout_seconds' | 'absolute_ttl_seconds'>) =>
    request<SessionPolicy>('PUT', tenantPath(tenantId, 'session-policy'), input),
  mfaPolicy: (tenantId: string) => request<MfaPolicy>('GET', tenantPath(tenantId, 'mfa-policy')),
  saveMfaPolicy: (tenantId: string, input: Pick<MfaPolicy, 'required' | 'new_device'>) => request<MfaPolicy>('PUT', tenantPath(tenantId, 'mfa-policy'), input),
  verificationPolicy: (tenantId: string) => request<VerificationPolicy>('GET', tenantPath(tenantId, 'verification-policy')),
  saveVerificationPolicy: (tenantId: string, input: Pick<VerificationPolicy, 'require_phone' | 'default_channel'>) =>
    request<VerificationPolicy>('PUT', tenantPath(tenantId, 'verification-policy'), input),
};

/** Public: finishes a sign-in held by an mfa-required challenge; answers recovery codes after an enrolment. */
export async function verifyMfa(challengeToken: string, factor: SecondFactor): Promise<{ recovery_codes?: string[] }> {
  const res = await send('POST', '/v1/auth/mfa/verify', { challenge_token: challengeToken, ...factor }, false);
  const { recovery_codes, ...pair } = await parse<Tokens & { recovery_codes?: string[] }>(res);
  rememberDevice(pendingLoginName, pair.device_id);
  setTokens(pair);
  return recovery_codes ? { recovery_codes } : {};
}

/** Public: WebAuthn options for the passkey of a sign-in challenge. */
export async function mfaWebauthnOptions(challengeToken: string): Promise<unknown> {
  return parse<unknown>(await send('POST', '/v1/auth/mfa/webauthn/options', { challenge_token: challengeToken }, false));
}

/** Public: enrols an authenticator app during a sign-in whose organization requires MFA. */
export async function enrolTotpAtSignIn(challengeToken: string): Promise<TotpEnrolment> {
  return parse<TotpEnrolment>(await send('POST', '/v1/auth/mfa/enroll/totp', { challenge_token: challengeToken }, false));
}

/** Proves a second factor in this session (step-up); the new token pair replaces the old one. */
export async function stepUp(factor: SecondFactor): Promise<void> {
  const res = await send('POST', '/v1/auth/step-up', factor, true);
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

/** Public: verifies an email address with the token from a verification link (FR-VER-001). */
export async function confirmEmailLink(token: string): Promise<void> {
  await parse<unknown>(await send('POST', '/v1/auth/email-verification/confirm', { token }, false));
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

/** The signed-in user's second factors (NFR-SEC-003). */
export const mfaApi = {
  status: () => request<{ enrolled: boolean; factors: MfaFactor[]; recovery_codes_remaining: number }>('GET', '/v1/me/mfa'),
  startTotp: () => request<TotpEnrolment>('POST', '/v1/me/mfa/totp'),
  confirmTotp: (factorId: string, code: string) =>
    request<{ factor: MfaFactor; recovery_codes?: string[] }>('POST', `/v1/me/mfa/totp/${id(factorId)}/confirm`, { code }),
  removeFactor: (factorId: string) => request<void>('DELETE', `/v1/me/mfa/factors/${id(factorId)}`),
  regenerateRecoveryCodes: () => request<{ recovery_codes: string[] }>('POST', '/v1/me/mfa/recovery-codes'),
  passkeyOptions: () => request<unknown>('POST', '/v1/me/mfa/webauthn/options'),
  registerPasskey: (name: string, response: unknown) =>
    request<{ factor: MfaFactor; recovery_codes?: string[] }>('POST', '/v1/me/mfa/webauthn', { name, response }),
  stepUpPasskeyOptions: () => request<unknown>('POST', '/v1/auth/step-up/webauthn/options'),
};

/** The signed-in user's email and phone verification (FR-VER-001, FR-VER-002). */
export const verificationApi = {
  sendEmail: () => request<{ sent: boolean; expires_in: number }>('POST', '/v1/me/email-verification'),
  confirmEmailCode: (code: string) => request<{ verified: boolean }>('POST', '/v1/me/email-verification/confirm', { code }),
  setPhone: (phone: string, channel: CodeChannel) =>
    request<{ phone: string; phone_verified: boolean; channel: CodeChannel; expires_in: number }>('PUT', '/v1/me/phone', { phone, channel }),
  verifyPhone: (code: string) => request<{ verified: boolean }>('POST', '/v1/me/phone/verify', { code }),
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
