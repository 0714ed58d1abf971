/**
 * Coded errors. Services throw AppError (usually through `assertThat`); the HTTP layer maps
 * them, validation errors and PostgreSQL errors to RFC 7807 problem responses in one place.
 */
export type ProblemCode =
  | 'bad-request'
  | 'validation'
  | 'unauthorized'
  | 'invalid-credentials'
  | 'forbidden'
  | 'tenant-mismatch'
  | 'not-found'
  | 'conflict'
  | 'version-conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'tenant-suspended'
  | 'timeout'
  | 'unavailable'
  | 'internal';

const TITLES: Record<ProblemCode, [status: number, title: string]> = {
  'bad-request': [400, 'Bad request'],
  validation: [400, 'The request is not valid'],
  unauthorized: [401, 'Authentication required'],
  'invalid-credentials': [401, 'Invalid credentials'],
  forbidden: [403, 'Forbidden'],
  'tenant-mismatch': [403, 'Forbidden'],
  'not-found': [404, 'Not found'],
  conflict: [409, 'Conflict'],
  'version-conflict': [409, 'The resource was changed by someone else'],
  'payload-too-large': [413, 'Payload too large'],
  'unsupported-media-type': [415, 'Unsupported media type'],
  'method-not-allowed': [405, 'Method not allowed'],
  'tenant-suspended': [403, 'The organization is suspended'],
  timeout: [503, 'The request took too long'],
  unavailable: [503, 'Service unavailable'],
  internal: [500, 'Internal server error'],
};

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    const [status, title] = TITLES[code];
    super(detail ?? title);
    this.status = status;
    this.title = title;
  }
}

export const problemType = (code: string) => `/problems/${code}`;
