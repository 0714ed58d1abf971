import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, problemType, type ProblemCode } from '../errors.ts';
import { QueryTimeoutError } from '../db/pglite-driver.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  correlation_id: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad-request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad-request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_CTP_INVALID_TYPE: 'bad-request',
  FST_ERR_BAD_URL: 'bad-request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad-request',
};

/** PostgreSQL error classes a request can provoke, mapped without revealing the database. */
const PG_CODES: Record<string, ProblemCode> = {
  '42501': 'forbidden', // insufficient privilege, including a row-level security check
  '23505': 'conflict',
  '23503': 'conflict',
  '23514': 'validation',
  '22P02': 'validation',
  '22001': 'validation',
  '22003': 'validation',
  '57014': 'timeout',
  '40001': 'conflict',
};

function toAppError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof QueryTimeoutError) return new AppError('timeout');
  const candidate = error as Partial<FastifyError> & { code?: string; name?: string };
  if (candidate.validation) return null;
  if (candidate.code && FASTIFY_CODES[candidate.code]) {
    const code = FASTIFY_CODES[candidate.code]!;
    return new AppError(code, code === 'bad-request' ? 'The request body could not be read.' : undefined);
  }
  if (candidate.name === 'SyntaxError' && candidate.statusCode === 400) {
    return new AppError('bad-request', 'The request body is not valid JSON.');
  }
  if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code) && PG_CODES[candidate.code]) {
    return new AppError(PG_CODES[candidate.code]!);
  }
  return null;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError | Problem) {
  const problem: Problem =
    error instanceof AppError
      ? {
          type: problemType(error.code),
          title: error.title,
          status: error.status,
          ...(error.detail && error.detail !== error.title ? { detail: error.detail } : {}),
          ...error.extra,
          instance: request.url.split('?')[0],
          correlation_id: request.id,
        }
      : error;
  // A refusal that knows when to come back says so in Retry-After too (RFC 9110).
  if (typeof problem.retry_after === 'number') reply.header('retry-after', String(problem.retry_after));
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

/** The one error handler: everything leaves as RFC 7807, nothing internal leaks. */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    return sendProblem(request, reply, {
      type: problemType('validation'),
      title: 'The request is not valid',
      status: 400,
      instance: request.url.split('?')[0],
      correlation_id: request.id,
      errors: error.validation.map((issue) => ({
        path: `${error.validationContext ?? 'body'}${issue.instancePath || ''}`,
        message: issue.message ?? 'is not valid',
      })),
    });
  }
  const known = toAppError(error);
  if (known) {
    if (known.status >= 500) request.log.warn({ err: error }, 'request failed');
    return sendProblem(request, reply, known);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(request, reply, new AppError('internal'));
}
