import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, problemType, type ProblemCode } from '../errors.ts';
import { isConnectionError } from '../db/database.ts';
import { QueryTimeoutError } from '../db/pglite-driver.ts';
import type { Logger } from '../log.ts';

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

const BODY_UNREADABLE = 'The request body could not be read.';
const FASTIFY_CODES: Record<string, [ProblemCode, detail?: string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported-media-type'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload-too-large'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['bad-request', BODY_UNREADABLE],
  FST_ERR_CTP_INVALID_JSON_BODY: ['bad-request', BODY_UNREADABLE],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad-request', BODY_UNREADABLE],
  FST_ERR_CTP_INVALID_TYPE: ['bad-request', BODY_UNREADABLE],
  FST_ERR_BAD_URL: ['bad-request', 'The URL path is not valid percent-encoded UTF-8.'],
  FST_ERR_ASYNC_CONSTRAINT: ['bad-request'],
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

/** How long a client should wait after losing its request to a database restart or failover. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

function toAppError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof QueryTimeoutError) return new AppError('timeout');
  if (isConnectionError(error)) {
    return new AppError('database-unavailable', 'The database connection was lost; try again shortly.', { retry_after: DATABASE_RETRY_AFTER_SECONDS });
  }
  const candidate = error as Partial<FastifyError> & { code?: string; name?: string };
  if (candidate.validation) return null;
  if (candidate.code && FASTIFY_CODES[candidate.code]) {
    const [code, detail] = FASTIFY_CODES[candidate.code]!;
    return new AppError(code, detail);
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
  // A problem that says when to come back says it in the header too (RFC 9110).
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

/** What Node's HTTP parser reports before there is a request, as the problem it answers. */
const CLIENT_ERRORS: Record<string, ProblemCode> = {
  HPE_HEADER_OVERFLOW: 'header-too-large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request-timeout',
};

/**
 * The answer to a request Node's HTTP parser refused (headers over the size limit, including an
 * over-long URL; a malformed request line or header; a request not received in time): a problem
 * document like every other error, then the connection is closed, as Node itself does.
 */
export function answerClientError(log: Logger, error: Error & { code?: string }, socket: Duplex) {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = new AppError(CLIENT_ERRORS[error.code ?? ''] ?? 'bad-request');
  const correlationId = randomUUID();
  log.info({ code: error.code, correlationId, status: known.status }, 'request refused by the HTTP parser');
  if (socket.writable) {
    const body = JSON.stringify({ type: problemType(known.code), title: known.title, status: known.status, correlation_id: correlationId });
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${correlationId}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
