/**
 * The typed API client: openapi-fetch over the paths of the generated schema, with the token
 * transport of a signed-in person. Requests carry `Authorization: Bearer <access token>`; on a 401
 * the pair is refreshed once (concurrent requests share the attempt) and the request sent again;
 * an answer that is not 2xx is thrown as a ProblemError holding its RFC 7807 problem. A client
 * without tokens sends no Authorization header and never refreshes (sign-in, public pages).
 *
 *   const api = createClient({ baseUrl: 'https://api.example.com', tokens: memoryTokens() });
 *   const { data } = await api.GET('/v1/auth/me');
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/schema.ts';

export type { components, operations, paths } from './generated/schema.ts';

export interface Tokens {
  access_token: string;
  refresh_token?: string;
}

/** Where the client keeps the token pair (memory, localStorage, a secure store). */
export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

/** An RFC 7807 problem; the platform adds correlation_id and, per type, fields of its own. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  correlation_id?: string;
  [field: string]: unknown;
}

export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    const title = problem.title?.trim() || (status ? `Request failed (${status})` : 'Network error');
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.name = 'ProblemError';
    this.status = status;
    this.problem = problem;
  }
}

export interface ClientOptions {
  /** The API's origin; '' for the same origin in a browser. */
  baseUrl: string;
  tokens?: TokenStore;
  fetch?: typeof globalThis.fetch;
  /**
   * FR-AUTH-014: a sensitive action answered step-up-required. Resolves true once the person has
   * proven a second factor (POST /v1/auth/step-up); the request is then sent again, once.
   */
  onStepUpRequired?: () => Promise<boolean>;
}

export type ApiClient = Client<paths>;

export function memoryTokens(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return { get: () => tokens, set: (next) => void (tokens = next) };
}

async function problemOf(response: Response): Promise<ProblemError> {
  let problem: Problem = {};
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    const body: unknown = await response.json().catch(() => null);
    if (body && typeof body === 'object') problem = body as Problem;
  }
  if (!problem.title && response.statusText) problem = { ...problem, title: response.statusText };
  return new ProblemError(response.status, problem);
}

export function createClient(options: ClientOptions): ApiClient {
  const tokens = options.tokens ?? memoryTokens();
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  let refreshing: Promise<boolean> | null = null;

  async function send(request: Request, auth: boolean): Promise<Response> {
    const headers = new Headers(request.headers);
    const access = tokens.get()?.access_token;
    if (auth && access) headers.set('authorization', `Bearer ${access}`);
    try {
      return await fetcher(new Request(request, { headers }));
    } catch {
      throw new ProblemError(0, { title: 'Network error', detail: 'Could not reach the server. Check your connection and try again.' });
    }
  }

  function refresh(): Promise<boolean> {
    const refreshToken = tokens.get()?.refresh_token;
    if (!refreshToken) return Promise.resolve(false);
    refreshing ??= (async () => {
      const request = new Request(`${options.baseUrl}/v1/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      const response = await send(request, false).catch(() => null);
      if (!response?.ok) return false;
      tokens.set((await response.json()) as Tokens);
      return true;
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function isStepUpRequired(response: Response): Promise<boolean> {
    const body: unknown = await response.clone().json().catch(() => null);
    return (body as Problem | null)?.type === '/problems/step-up-required';
  }

  async function transport(request: Request): Promise<Response> {
    const sentWith = tokens.get()?.access_token;
    // The body can be read once: each sending takes a copy.
    let response = await send(request.clone(), true);
    if (response.status === 401 && sentWith) {
      // Another request may have refreshed the pair while this one was in flight.
      const renewed = tokens.get()?.access_token !== sentWith || (await refresh());
      if (renewed) response = await send(request.clone(), true);
      if (response.status === 401) tokens.set(null);
    }
    if (response.status === 403 && options.onStepUpRequired && (await isStepUpRequired(response)) && (await options.onStepUpRequired())) {
      response = await send(request.clone(), true);
    }
    if (!response.ok) throw await problemOf(response);
    return response;
  }

  return createFetchClient<paths>({ baseUrl: options.baseUrl, fetch: transport });
}
