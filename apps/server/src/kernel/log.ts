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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tsv-baseline' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: {
        // Free-text messages can carry an address (an error from a library, say): mask it.
        log: (object) => {
          for (const key of ['msg', 'err'] as const) {
            const value = object[key];
            if (typeof value === 'string') object[key] = value.replace(EMAIL, '[email]');
          }
          return object;
        },
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? arg.replace(EMAIL, '[email]') : arg));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
