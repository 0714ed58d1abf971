/**
 * Coded errors. Services throw AppError (usually through `assertThat`); the HTTP layer maps
 * them, validation errors and PostgreSQL errors to RFC 7807 problem responses in one place.
 */

import type { ModuleProblemCode } from './module.ts';

/** A problem type: the HTTP status it answers with and its title, the same for every instance. */
export type ProblemSpec = readonly [status: number, title: string];

/** The problems a module declares in its definition (`problems`), by code. */
export type ProblemTable = Readonly<Record<string, ProblemSpec>>;

/**
 * The problems any part of the platform may answer: the HTTP layer's, the guard's, and those of
 * tenant state. A problem only one module answers is declared in that module's definition.
 */
const KERNEL_PROBLEMS = {
  'bad-request': [400, 'Bad request'],
  validation: [400, 'The request is not valid'],
  unauthorized: [401, 'Authentication required'],
  forbidden: [403, 'Forbidden'],
  'tenant-mismatch': [403, 'Forbidden'],
  'not-found': [404, 'Not found'],
  conflict: [409, 'Conflict'],
  'version-conflict': [409, 'The resource was changed by someone else'],
  'email-unverified': [403, 'The email address is not verified'],
  'phone-unverified': [403, 'The phone number is not verified'],
  'step-up-required': [403, 'Step-up required'],
  'impersonation-forbidden': [403, 'Not allowed during impersonation'],
  'payload-too-large': [413, 'Payload too large'],
  'header-too-large': [431, 'Request header fields too large'],
  'request-timeout': [408, 'The request was not received in time'],
  'unsupported-media-type': [415, 'Unsupported media type'],
  'method-not-allowed': [405, 'Method not allowed'],
  'tenant-suspended': [403, 'The organization is suspended'],
  'rate-limited': [429, 'Too many requests'],
  'tenant-busy': [429, 'Too many requests in progress for this organization'],
  'idempotency-key-reused': [422, 'The idempotency key belongs to another request'],
  'idempotency-in-progress': [409, 'A request with this idempotency key is in progress'],
  timeout: [503, 'The request took too long'],
  'switched-off': [503, 'Switched off by a kill switch'],
  unavailable: [503, 'Service unavailable'],
  'database-unavailable': [503, 'The database is unavailable'],
  internal: [500, 'Internal server error'],
} as const satisfies ProblemTable;

/** Every problem code, the kernel's and the modules' (`DeclaredModules`): an undeclared one does not compile. */
export type ProblemCode = keyof typeof KERNEL_PROBLEMS | ModuleProblemCode;

const PROBLEMS = new Map<string, { spec: ProblemSpec; owner: string }>(Object.entries(KERNEL_PROBLEMS).map(([code, spec]) => [code, { spec, owner: 'kernel' }]));

/** Adds a module's problems; called by `defineModule`. A code has one owner. */
export function registerProblems(owner: string, problems: ProblemTable): void {
  for (const [code, spec] of Object.entries(problems)) {
    const existing = PROBLEMS.get(code);
    if (existing) throw new Error(`The problem code ${code} of ${owner} is already declared by ${existing.owner}`);
    PROBLEMS.set(code, { spec, owner });
  }
}

/** Every declared problem with its owner: the problem registry (docs/problems.md). */
export function problemRegistry(): { code: string; status: number; title: string; owner: string }[] {
  return [...PROBLEMS].map(([code, { spec, owner }]) => ({ code, status: spec[0], title: spec[1], owner }));
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    const declared = PROBLEMS.get(code);
    if (!declared) throw new Error(`The problem code ${code} is not declared: add it to its module's definition`);
    const [status, title] = declared.spec;
    super(detail ?? title);
    this.status = status;
    this.title = title;
  }
}

export const problemType = (code: string) => `/problems/${code}`;
