import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths never written to logs: credentials, tokens and personal data. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  // Top-level fields too: `*.x` only matches one level down, never `log.info({ password })`.
  'password',
  'new_password',
  'access_token',
  'refresh_token',
  'token',
  'secret',
  'email',
  'phone',
  '*.password',
  '*.new_password',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.secret',
  '*.email',
  '*.phone',
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const maskEmails = (text: string) => text.replace(EMAIL, '[email]');

/** Errors are serialised as usual, with any address in their message or stack masked. */
function serializeError(error: unknown) {
  if (typeof error === 'string') return maskEmails(error);
  if (!(error instanceof Error)) return error;
  const serialized = pino.stdSerializers.err(error);
  serialized.message = maskEmails(serialized.message ?? '');
  if (serialized.stack) serialized.stack = maskEmails(serialized.stack);
  return serialized;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tsv-baseline' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
      hooks: {
        // Free-text messages can carry an address (an error from a library, say): mask it.
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? maskEmails(arg) : arg));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
