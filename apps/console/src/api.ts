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
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  tenant_id: string | null;
  tenant_slug: string | null;
  roles: string[];
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
  created_at: string;
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
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly type: string | undefined;
  readonly correlationId: string | undefined;

  constructor(status: number, problem: Problem) {
    const title = problem.title?.trim() || (status ? `Request failed (${status})` : 'Network error');
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = problem.detail?.trim() || undefined;
    this.type = problem.type;
    this.correlationId = problem.correlation_id;
  }
}

const STORAGE_KEY = 'tsv.console.tokens';

function readStoredTokens(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Tokens>;
    return typeof parsed.access_token === 'string' && typeof parsed.refresh_token === 'string'
      ? (parsed as Tokens)
      : null;
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

async function send(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
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
  if (!tokens) return Promise.resolve(false);
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
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const sentWith = tokens?.access_token;
  let res = await send(method, path, body, true);
  if (res.status === 401 && tokens) {
    // Another request may already have refreshed the pair while this one was in flight.
    const ok = tokens.access_token !== sentWith || (await refreshTokens());
    if (ok) res = await send(method, path, body, true);
    if (res.status === 401) {
      const err = await toApiError(res);
      setTokens(null);
      throw err;
    }
  }
  return parse<T>(res);
}

export async function login(email: string, password: string, tenant?: string): Promise<void> {
  const body: { email: string; password: string; tenant?: string } = { email, password };
  if (tenant) body.tenant = tenant;
  const res = await send('POST', '/v1/auth/login', body, false);
  setTokens(await parse<Tokens>(res));
}

export async function logout(): Promise<void> {
  try {
    if (tokens) await send('POST', '/v1/auth/logout', undefined, true);
  } catch {
    /* signing out locally is what matters */
  } finally {
    setTokens(null);
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

export const api = {
  me: () => request<Me>('GET', '/v1/me'),
  listCustomers: (tenantId: string, opts: { cursor?: string; q?: string; limit?: number } = {}) =>
    request<Page<Customer>>(
      'GET',
      `/v1/tenants/${encodeURIComponent(tenantId)}/customers${query({ limit: opts.limit ?? 20, cursor: opts.cursor, q: opts.q })}`,
    ),
  createCustomer: (tenantId: string, input: NewCustomer) =>
    request<Customer>('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/customers`, input),
  listTenants: (opts: { cursor?: string; limit?: number } = {}) =>
    request<Page<Tenant>>('GET', `/v1/platform/tenants${query({ limit: opts.limit ?? 20, cursor: opts.cursor })}`),
};

/** Human-readable message for any thrown value. */
export function errorMessage(err: unknown): { title: string; detail?: string } {
  if (err instanceof ApiError) {
    return err.detail && err.detail !== err.title ? { title: err.title, detail: err.detail } : { title: err.title };
  }
  return { title: 'Something went wrong', detail: err instanceof Error ? err.message : String(err) };
}
