/**
 * The console's calls to the TSV Baseline API (same origin), through the SDK's typed client: paths,
 * bodies and answers come from the server's OpenAPI document, so a change there that breaks the
 * console fails its type check.
 *
 * - Tokens live in memory and are mirrored to sessionStorage so a reload keeps the session
 *   (but a new tab / closed browser does not).
 * - On a 401 the client refreshes once with the refresh token and sends the request again; a
 *   sensitive action that asks for a step-up is sent again once the step-up dialog succeeded.
 * - Sign-in and the public pages use a client without tokens: nothing is sent or renewed for them.
 * - An answer that is not 2xx is thrown as the SDK's ProblemError (RFC 7807).
 */
import { createClient, ProblemError, type components, type Problem, type paths, type TokenStore, type Tokens } from '@tsv/sdk';

export { ProblemError };

type Schemas = components['schemas'];
/** The JSON body a route takes. */
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The query parameters a route takes. */
type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type Me = Schemas['MeResponse'];
export type CodeChannel = Schemas['PhoneNumber']['channel'];
export type CatalogPermission = Schemas['PermissionCatalogEntry'];
export type Role = Schemas['Role'];
export type RoleInput = Body<'/v1/tenants/{tenantId}/roles', 'post'>;
export type Unit = Schemas['Unit'];
export type Assignment = Schemas['RoleAssignment'];
export type User = Schemas['User'];
export type UserFilters = Pick<Query<'/v1/tenants/{tenantId}/users', 'get'>, 'q' | 'status' | 'role_id' | 'unit_id'>;
export type Invitation = Schemas['Invitation'];
export type InvitationInput = Body<'/v1/tenants/{tenantId}/invitations', 'post'>;
export type AuditEvent = Schemas['AuditEvent'];
/** Search filters of the audit log; `tenant` and `region` exist on the platform view only. */
export type AuditFilters = Omit<Query<'/v1/platform/audit-events', 'get'>, 'limit' | 'cursor'>;
export type Customer = Schemas['Customer'];
export type NewCustomer = Body<'/v1/tenants/{tenantId}/customers', 'post'>;
export type Tenant = Schemas['Tenant'];
export type NewTenant = Body<'/v1/platform/tenants', 'post'>;
export type MfaFactor = Schemas['MfaFactor'];
export type TotpEnrolment = Schemas['TotpEnrolment'];
/** Exactly one second factor; the WebAuthn response as @simplewebauthn/browser returns it. */
export type SecondFactor = Body<'/v1/auth/step-up', 'post'>;
export type MfaMethod = MfaFactor['kind'] | 'recovery_code';

/** A credential as @simplewebauthn/browser returns it, in the plain JSON shape of the API's schema. */
export function webauthnJson(credential: {
  id: string;
  rawId: string;
  type: 'public-key';
  response: object;
  clientExtensionResults: object;
  authenticatorAttachment?: string;
}): NonNullable<SecondFactor['webauthn']> {
  return { ...credential, response: { ...credential.response }, clientExtensionResults: { ...credential.clientExtensionResults } };
}
/** One of the signed-in user's sessions; `current` marks the one making the request. */
export type SessionSummary = Schemas['SessionSummary'];
export type Device = Schemas['Device'];
/** An organization's OIDC identity provider (FR-AUTH-003); the client secret is write-only. */
export type SsoConfig = Schemas['SsoConfig'];
export type SsoConfigInput = Body<'/v1/tenants/{tenantId}/sso', 'put'>;
/** The organization's password rules (FR-AUTH-006): never weaker than the platform minimum. */
export type PasswordPolicy = Schemas['PasswordPolicyResponse'];
/** Session lifetimes in seconds (FR-AUTH-008); null uses the platform's, `effective` is what applies. */
export type SessionPolicy = Schemas['SessionPolicy'];
/** Who must sign in with a second factor (NFR-SEC-003), and whether new devices are challenged. */
export type MfaPolicy = Schemas['MfaPolicy'];
/** Whether members must verify a phone number, and the channel codes go by (FR-VER-002). */
export type VerificationPolicy = Schemas['VerificationPolicy'];

export const REGIONS = ['US', 'EU', 'UK', 'JP'] as const satisfies readonly Tenant['region'][];

/** One page of a cursor-paginated list. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface PasswordRule {
  rule: string;
  message: string;
}

/** Fields that problems of some types carry beyond RFC 7807; the OpenAPI document leaves them open. */
export interface ProblemFields {
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

/** The problem an API call was refused with, or null for any other error. */
export function problemOf(err: unknown): (Problem & ProblemFields) | null {
  return err instanceof ProblemError ? (err.problem as Problem & ProblemFields) : null;
}

/** What a sign-in waits for after the password: a second factor, or enrolling one first. */
export interface MfaChallenge {
  challenge_token: string;
  methods: MfaMethod[];
  enrollment_required: boolean;
  expires_in: number;
}

/** The challenge of a sign-in that needs a second factor (401 mfa-required), or null for any other error. */
export function mfaChallengeOf(err: unknown): MfaChallenge | null {
  const problem = problemOf(err);
  if (problem?.type !== '/problems/mfa-required' || !problem.challenge_token) return null;
  const { challenge_token, methods = [], enrollment_required = false, expires_in = 300 } = problem;
  return { challenge_token, methods, enrollment_required, expires_in };
}

const STORAGE_KEY = 'tsv.console.tokens';
/** The support staff member's own session, kept while they act as a tenant user. */
const STAFF_STORAGE_KEY = 'tsv.console.staff-tokens';

function readStoredTokens(key: string): Tokens | null {
  try {
    const raw = sessionStorage.getItem(key);
    const parsed = raw ? (JSON.parse(raw) as Partial<Tokens>) : null;
    return parsed && typeof parsed.access_token === 'string' ? (parsed as Tokens) : null;
  } catch {
    return null;
  }
}

let tokens: Tokens | null = readStoredTokens(STORAGE_KEY);
const sessionListeners = new Set<() => void>();

/**
 * The session's token pair (impersonation sessions have no refresh token), mirrored to
 * sessionStorage; when it ends, the listeners hear of it.
 */
const session: TokenStore = {
  get: () => tokens,
  set(next) {
    const hadTokens = tokens !== null;
    tokens = next;
    try {
      if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      /* storage unavailable (private mode); memory copy still works */
    }
    if (hadTokens && !next) sessionListeners.forEach((fn) => fn());
  },
};

/** Called when the session ends (sign out, or refresh failed). Returns an unsubscribe function. */
export function onSessionEnded(fn: () => void): () => void {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

export function hasSession(): boolean {
  return tokens !== null;
}

let stepUpHandler: (() => Promise<boolean>) | null = null;

/** Registers what asks the user for a second factor (the step-up dialog); it answers whether they gave one. */
export function onStepUpRequired(handler: () => Promise<boolean>): () => void {
  stepUpHandler = handler;
  return () => {
    if (stepUpHandler === handler) stepUpHandler = null;
  };
}

/** The signed-in session's calls. */
const client = createClient({ baseUrl: '', tokens: session, onStepUpRequired: () => stepUpHandler?.() ?? Promise.resolve(false) });
/** Sign-in and the public pages: no token is sent, none renewed. */
const publicClient = createClient({ baseUrl: '' });

/** The answer's body: the client throws every answer that is not 2xx, so it is there. */
async function dataOf<T>(call: Promise<{ data?: T }>): Promise<T> {
  return (await call).data as T;
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
  const body: Body<'/v1/auth/login', 'post'> = { email, password };
  // Only tenant users have devices.
  pendingLoginName = tenant ? loginName(email, tenant) : null;
  if (tenant) body.tenant = tenant;
  const deviceId = pendingLoginName ? rememberedDevices()[pendingLoginName] : undefined;
  // A damaged entry is left out rather than refused by the API (it wants a UUID).
  if (deviceId && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(deviceId)) body.device = { id: deviceId };
  const pair = await dataOf(publicClient.POST('/v1/auth/login', { body }));
  rememberDevice(pendingLoginName, pair.device_id);
  session.set(pair);
}

/** Public: whether an organization (by its short name) signs in with single sign-on. */
export async function ssoAvailable(slug: string): Promise<boolean> {
  const answer = await dataOf(publicClient.GET('/v1/auth/sso/{tenantSlug}', { params: { path: { tenantSlug: slug } } })).catch(() => null);
  return answer?.enabled ?? false;
}

/** Public: whether platform staff sign in with the company identity provider. */
export async function platformSsoAvailable(): Promise<boolean> {
  const answer = await dataOf(publicClient.GET('/v1/auth/platform-sso')).catch(() => null);
  return answer?.enabled ?? false;
}

/** Where the browser goes to sign in with an identity provider (a full-page navigation). */
export const ssoStartUrl = (slug: string | null) => (slug ? `/v1/auth/sso/${encodeURIComponent(slug)}/start` : '/v1/auth/platform-sso/start');

/** Public: trades the one-time code of a completed SSO sign-in for the token pair. */
export async function exchangeSsoCode(code: string): Promise<void> {
  session.set(await dataOf(publicClient.POST('/v1/auth/sso/exchange', { body: { code } })));
}

/** Public: finishes a sign-in held by an mfa-required challenge; answers recovery codes after an enrolment. */
export async function verifyMfa(challengeToken: string, factor: SecondFactor): Promise<{ recovery_codes?: string[] }> {
  const { recovery_codes, ...pair } = await dataOf(publicClient.POST('/v1/auth/mfa/verify', { body: { challenge_token: challengeToken, ...factor } }));
  rememberDevice(pendingLoginName, pair.device_id);
  session.set(pair);
  return recovery_codes ? { recovery_codes } : {};
}

/** Public: WebAuthn options for the passkey of a sign-in challenge. */
export function mfaWebauthnOptions(challengeToken: string): Promise<unknown> {
  return dataOf(publicClient.POST('/v1/auth/mfa/webauthn/options', { body: { challenge_token: challengeToken } }));
}

/** Public: enrols an authenticator app during a sign-in whose organization requires MFA. */
export function enrolTotpAtSignIn(challengeToken: string): Promise<TotpEnrolment> {
  return dataOf(publicClient.POST('/v1/auth/mfa/enroll/totp', { body: { challenge_token: challengeToken } }));
}

/** Proves a second factor in this session (step-up); the new token pair replaces the old one. */
export async function stepUp(factor: SecondFactor): Promise<void> {
  session.set(await dataOf(client.POST('/v1/auth/step-up', { body: factor })));
}

/** Public: turns an invitation into an account and signs it in. */
export async function acceptInvitation(input: Body<'/v1/invitations/accept', 'post'>): Promise<void> {
  session.set(await dataOf(publicClient.POST('/v1/invitations/accept', { body: input })));
}

/** Public: asks for a reset link by mail. The answer is the same whether or not the account exists. */
export async function requestPasswordReset(input: Body<'/v1/auth/password-reset', 'post'>): Promise<void> {
  await publicClient.POST('/v1/auth/password-reset', { body: input });
}

/** Public: verifies an email address with the token from a verification link (FR-VER-001). */
export async function confirmEmailLink(token: string): Promise<void> {
  await publicClient.POST('/v1/auth/email-verification/confirm', { body: { token } });
}

/** Public: sets a new password with the token from a reset link. */
export async function confirmPasswordReset(input: Body<'/v1/auth/password-reset/confirm', 'post'>): Promise<void> {
  await publicClient.POST('/v1/auth/password-reset/confirm', { body: input });
}

/** Support staff: switch to an impersonation session, keeping their own to return to. */
export function beginImpersonation(impersonation: Schemas['ImpersonationStarted']): void {
  try {
    if (tokens) sessionStorage.setItem(STAFF_STORAGE_KEY, JSON.stringify(tokens));
  } catch {
    /* storage unavailable: ending the impersonation then signs out */
  }
  session.set({ access_token: impersonation.access_token });
}

/** Takes the support staff member's own session out of storage, if one is kept there. */
function takeStaffTokens(): Tokens | null {
  const staff = readStoredTokens(STAFF_STORAGE_KEY);
  try {
    sessionStorage.removeItem(STAFF_STORAGE_KEY);
  } catch {
    /* storage unavailable: nothing was kept */
  }
  return staff;
}

/** Ends the current session on the server as it is, without renewing it first. */
async function endSession(): Promise<void> {
  if (!tokens) return;
  const authorization = `Bearer ${tokens.access_token}`;
  // Signing out locally is what matters.
  await publicClient.POST('/v1/auth/logout', { headers: { authorization } }).catch(() => undefined);
}

/**
 * Ends an impersonation session on the server. Returns true when the staff member's own session
 * was restored; otherwise the console is signed out.
 */
export async function endImpersonation(): Promise<boolean> {
  await endSession();
  const staff = takeStaffTokens();
  session.set(staff);
  return staff !== null;
}

/** Signs out; during an impersonation, the staff member's own session ends too. */
export async function logout(): Promise<void> {
  await endSession();
  const staff = takeStaffTokens();
  if (staff) {
    // The staff member's access token may have expired meanwhile: this call may refresh it first.
    session.set(staff);
    await client.POST('/v1/auth/logout').catch(() => undefined);
  }
  session.set(null);
}

const inTenant = (tenantId: string) => ({ path: { tenantId } });
const ofTenant = (tenantId: string, id: string) => ({ path: { tenantId, id } });
const byId = (id: string) => ({ path: { id } });

export const api = {
  me: () => dataOf(client.GET('/v1/me')),
  catalog: () => dataOf(client.GET('/v1/permissions')),
  changePassword: async (input: Body<'/v1/me/password', 'post'>) => void (await client.POST('/v1/me/password', { body: input })),
  listOwnSessions: () => dataOf(client.GET('/v1/me/sessions')),
  revokeOwnSession: async (sessionId: string) => void (await client.DELETE('/v1/me/sessions/{id}', { params: byId(sessionId) })),
  listOwnDevices: () => dataOf(client.GET('/v1/me/devices')),
  forgetOwnDevice: async (deviceId: string) => void (await client.DELETE('/v1/me/devices/{id}', { params: byId(deviceId) })),

  listRoles: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/roles', { params: inTenant(tenantId) })),
  createRole: (tenantId: string, input: RoleInput) => dataOf(client.POST('/v1/tenants/{tenantId}/roles', { params: inTenant(tenantId), body: input })),
  updateRole: (tenantId: string, roleId: string, input: Body<'/v1/tenants/{tenantId}/roles/{id}', 'patch'>) =>
    dataOf(client.PATCH('/v1/tenants/{tenantId}/roles/{id}', { params: ofTenant(tenantId, roleId), body: input })),
  deleteRole: async (tenantId: string, roleId: string) => void (await client.DELETE('/v1/tenants/{tenantId}/roles/{id}', { params: ofTenant(tenantId, roleId) })),

  listUnits: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/units', { params: inTenant(tenantId) })),
  createUnit: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/units', 'post'>) =>
    dataOf(client.POST('/v1/tenants/{tenantId}/units', { params: inTenant(tenantId), body: input })),
  updateUnit: (tenantId: string, unitId: string, input: Body<'/v1/tenants/{tenantId}/units/{id}', 'patch'>) =>
    dataOf(client.PATCH('/v1/tenants/{tenantId}/units/{id}', { params: ofTenant(tenantId, unitId), body: input })),
  deleteUnit: async (tenantId: string, unitId: string) => void (await client.DELETE('/v1/tenants/{tenantId}/units/{id}', { params: ofTenant(tenantId, unitId) })),

  listAssignments: (tenantId: string, filters: Query<'/v1/tenants/{tenantId}/role-assignments', 'get'> = {}) =>
    dataOf(client.GET('/v1/tenants/{tenantId}/role-assignments', { params: { ...inTenant(tenantId), query: filters } })),
  assign: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/role-assignments', 'post'>) =>
    dataOf(client.POST('/v1/tenants/{tenantId}/role-assignments', { params: inTenant(tenantId), body: input })),
  unassign: async (tenantId: string, assignmentId: string) =>
    void (await client.DELETE('/v1/tenants/{tenantId}/role-assignments/{id}', { params: ofTenant(tenantId, assignmentId) })),

  listUsers: (tenantId: string, query: Query<'/v1/tenants/{tenantId}/users', 'get'> = {}) =>
    dataOf(client.GET('/v1/tenants/{tenantId}/users', { params: { ...inTenant(tenantId), query: { limit: 50, ...query } } })),
  setUserRole: (tenantId: string, user: User, input: Omit<Body<'/v1/tenants/{tenantId}/users/{id}/role', 'put'>, 'version'>) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/users/{id}/role', { params: ofTenant(tenantId, user.id), body: { ...input, version: user.version } })),
  disableUser: (tenantId: string, userId: string) => dataOf(client.POST('/v1/tenants/{tenantId}/users/{id}/disable', { params: ofTenant(tenantId, userId) })),
  enableUser: (tenantId: string, userId: string) => dataOf(client.POST('/v1/tenants/{tenantId}/users/{id}/enable', { params: ofTenant(tenantId, userId) })),
  deleteUser: async (tenantId: string, user: User) =>
    void (await client.DELETE('/v1/tenants/{tenantId}/users/{id}', { params: { ...ofTenant(tenantId, user.id), query: { version: user.version } } })),

  listInvitations: (tenantId: string, query: Query<'/v1/tenants/{tenantId}/invitations', 'get'> = {}) =>
    dataOf(client.GET('/v1/tenants/{tenantId}/invitations', { params: { ...inTenant(tenantId), query } })),
  invite: (tenantId: string, input: InvitationInput) => dataOf(client.POST('/v1/tenants/{tenantId}/invitations', { params: inTenant(tenantId), body: input })),
  resendInvitation: (tenantId: string, invitationId: string) =>
    dataOf(client.POST('/v1/tenants/{tenantId}/invitations/{id}/resend', { params: ofTenant(tenantId, invitationId) })),
  revokeInvitation: async (tenantId: string, invitationId: string) =>
    void (await client.DELETE('/v1/tenants/{tenantId}/invitations/{id}', { params: ofTenant(tenantId, invitationId) })),
  setInvitationExpiry: (tenantId: string, expiryDays: number) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/invitation-settings', { params: inTenant(tenantId), body: { expiry_days: expiryDays } })),

  /** The tenant's own log, or (tenantId null) the platform view of every log. */
  listAuditEvents: (tenantId: string | null, filters: AuditFilters, cursor?: string) => {
    const query = { limit: 50, ...filters, ...(cursor ? { cursor } : {}) };
    return tenantId
      ? dataOf(client.GET('/v1/tenants/{tenantId}/audit-events', { params: { ...inTenant(tenantId), query } }))
      : dataOf(client.GET('/v1/platform/audit-events', { params: { query } }));
  },
  /** The events matching the filters as CSV, with the file name the server suggests. */
  exportAuditEvents: async (tenantId: string | null, filters: AuditFilters) => {
    const headers = { accept: 'text/csv' };
    const { data, response } = tenantId
      ? await client.GET('/v1/tenants/{tenantId}/audit-events.csv', { params: { ...inTenant(tenantId), query: filters }, headers, parseAs: 'blob' })
      : await client.GET('/v1/platform/audit-events.csv', { params: { query: filters }, headers, parseAs: 'blob' });
    const filename = /filename="?([^";]+)"?/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'export.csv';
    return { blob: data as Blob, filename };
  },

  startImpersonation: (input: Body<'/v1/platform/impersonations', 'post'>) => dataOf(client.POST('/v1/platform/impersonations', { body: input })),
  listCustomers: (tenantId: string, query: Query<'/v1/tenants/{tenantId}/customers', 'get'> = {}) =>
    dataOf(client.GET('/v1/tenants/{tenantId}/customers', { params: { ...inTenant(tenantId), query: { limit: 20, ...query } } })),
  createCustomer: (tenantId: string, input: NewCustomer) => dataOf(client.POST('/v1/tenants/{tenantId}/customers', { params: inTenant(tenantId), body: input })),
  listTenants: (query: Query<'/v1/platform/tenants', 'get'> = {}) => dataOf(client.GET('/v1/platform/tenants', { params: { query: { limit: 20, ...query } } })),
  createTenant: (input: NewTenant) => dataOf(client.POST('/v1/platform/tenants', { body: input })),
  suspendTenant: (tenantId: string) => dataOf(client.POST('/v1/platform/tenants/{id}/suspend', { params: byId(tenantId) })),
  reactivateTenant: (tenantId: string) => dataOf(client.POST('/v1/platform/tenants/{id}/reactivate', { params: byId(tenantId) })),
};

export const ssoApi = {
  get: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/sso', { params: inTenant(tenantId) })),
  save: (tenantId: string, input: SsoConfigInput) => dataOf(client.PUT('/v1/tenants/{tenantId}/sso', { params: inTenant(tenantId), body: input })),
  remove: async (tenantId: string) => void (await client.DELETE('/v1/tenants/{tenantId}/sso', { params: inTenant(tenantId) })),
  /** Starts linking the signed-in account: the provider URL to open (the binding cookie comes with the answer). */
  startLink: () => dataOf(client.POST('/v1/auth/sso/link')),
};

export const securityApi = {
  passwordPolicy: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/password-policy', { params: inTenant(tenantId) })),
  savePasswordPolicy: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/password-policy', 'put'>) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/password-policy', { params: inTenant(tenantId), body: input })),
  sessionPolicy: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/session-policy', { params: inTenant(tenantId) })),
  saveSessionPolicy: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/session-policy', 'put'>) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/session-policy', { params: inTenant(tenantId), body: input })),
  mfaPolicy: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/mfa-policy', { params: inTenant(tenantId) })),
  saveMfaPolicy: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/mfa-policy', 'put'>) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/mfa-policy', { params: inTenant(tenantId), body: input })),
  verificationPolicy: (tenantId: string) => dataOf(client.GET('/v1/tenants/{tenantId}/verification-policy', { params: inTenant(tenantId) })),
  saveVerificationPolicy: (tenantId: string, input: Body<'/v1/tenants/{tenantId}/verification-policy', 'put'>) =>
    dataOf(client.PUT('/v1/tenants/{tenantId}/verification-policy', { params: inTenant(tenantId), body: input })),
};

/** The signed-in user's second factors (NFR-SEC-003). */
export const mfaApi = {
  status: () => dataOf(client.GET('/v1/me/mfa')),
  startTotp: () => dataOf(client.POST('/v1/me/mfa/totp')),
  confirmTotp: (factorId: string, code: string) => dataOf(client.POST('/v1/me/mfa/totp/{id}/confirm', { params: byId(factorId), body: { code } })),
  removeFactor: async (factorId: string) => void (await client.DELETE('/v1/me/mfa/factors/{id}', { params: byId(factorId) })),
  regenerateRecoveryCodes: () => dataOf(client.POST('/v1/me/mfa/recovery-codes')),
  passkeyOptions: (): Promise<unknown> => dataOf(client.POST('/v1/me/mfa/webauthn/options')),
  registerPasskey: (name: string, response: NonNullable<SecondFactor['webauthn']>) =>
    dataOf(client.POST('/v1/me/mfa/webauthn', { body: { name, response } })),
  stepUpPasskeyOptions: (): Promise<unknown> => dataOf(client.POST('/v1/auth/step-up/webauthn/options')),
};

/** The signed-in user's email and phone verification (FR-VER-001, FR-VER-002). */
export const verificationApi = {
  sendEmail: () => dataOf(client.POST('/v1/me/email-verification')),
  confirmEmailCode: (code: string) => dataOf(client.POST('/v1/me/email-verification/confirm', { body: { code } })),
  setPhone: (phone: string, channel: CodeChannel) => dataOf(client.PUT('/v1/me/phone', { body: { phone, channel } })),
  verifyPhone: (code: string) => dataOf(client.POST('/v1/me/phone/verify', { body: { code } })),
};

/** Input the console refuses before sending it; its message is the whole explanation. */
export class InputError extends Error {}

/** Human-readable message for any thrown value. */
export function errorMessage(err: unknown): { title: string; detail?: string } {
  if (err instanceof InputError) return { title: err.message };
  if (err instanceof ProblemError) {
    const problem = err.problem as Problem & ProblemFields;
    const title = problem.title?.trim() || (err.status ? `Request failed (${err.status})` : 'Network error');
    const detail = problem.detail?.trim();
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    const parts = [detail && detail !== title ? detail : '', ...errors.map((e) => `${e.path.replace(/^\//, '') || 'request'}: ${e.message}`)];
    const text = parts.filter(Boolean).join(' ');
    return text ? { title, detail: text } : { title };
  }
  return { title: 'Something went wrong', detail: err instanceof Error ? err.message : String(err) };
}
