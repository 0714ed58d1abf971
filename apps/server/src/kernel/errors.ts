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
  | 'default-role'
  | 'last-owner'
  | 'own-role-change'
  | 'weak-password'
  | 'invitation-invalid'
  | 'password-reset-invalid'
  | 'email-unverified'
  | 'phone-unverified'
  | 'verification-link-invalid'
  | 'verification-code-invalid'
  | 'mfa-required'
  | 'mfa-code-invalid'
  | 'mfa-challenge-invalid'
  | 'step-up-required'
  | 'sso-provider-invalid'
  | 'sso-code-invalid'
  | 'cannot-impersonate-staff'
  | 'impersonation-active'
  | 'impersonation-forbidden'
  | 'payload-too-large'
  | 'header-too-large'
  | 'request-timeout'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'tenant-suspended'
  | 'rate-limited'
  | 'tenant-busy'
  | 'idempotency-key-reused'
  | 'idempotency-in-progress'
  | 'timeout'
  | 'switched-off'
  | 'unavailable'
  | 'database-unavailable'
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
  'default-role': [409, 'Default roles cannot be changed'],
  'last-owner': [409, 'The last Owner must stay'],
  'own-role-change': [403, 'You cannot change your own roles'],
  'weak-password': [400, 'The password does not meet the password policy'],
  'invitation-invalid': [410, 'The invitation is not valid'],
  'password-reset-invalid': [410, 'The password reset link is not valid'],
  'email-unverified': [403, 'The email address is not verified'],
  'phone-unverified': [403, 'The phone number is not verified'],
  'verification-link-invalid': [410, 'The verification link is not valid'],
  'verification-code-invalid': [400, 'The verification code is not valid'],
  'mfa-required': [401, 'MFA required'],
  'mfa-code-invalid': [403, 'The code is not valid'],
  'mfa-challenge-invalid': [401, 'The sign-in challenge is not valid'],
  'step-up-required': [403, 'Step-up required'],
  'sso-provider-invalid': [422, 'The identity provider cannot be used'],
  'sso-code-invalid': [401, 'The sign-in code is not valid'],
  'cannot-impersonate-staff': [403, 'Platform staff cannot be impersonated'],
  'impersonation-active': [409, 'An impersonation of this user is already active'],
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
