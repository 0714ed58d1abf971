import { Type, type Static } from 'typebox';
import { Timestamp } from '../../kernel/http/schemas.ts';

const Status = Type.Union([Type.Literal('ok'), Type.Literal('down'), Type.Literal('not-configured')]);
const Latency = Type.Union([Type.Number(), Type.Null()], { description: 'Milliseconds the check took; null when not run' });
const Failure = Type.Optional(Type.Union([Type.Literal('timeout'), Type.Literal('unreachable')]));

export const HealthReport = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')], {
    description: 'down: the database does not answer; degraded: another dependency does not',
  }),
  checked_at: Timestamp,
  dependencies: Type.Object({
    database: Type.Object({ status: Status, latency_ms: Latency, backend: Type.String(), error: Failure }),
    queue: Type.Object({
      status: Status,
      latency_ms: Latency,
      error: Failure,
      queues: Type.Array(Type.Object({ name: Type.String(), depth: Type.Integer({ description: 'Jobs queued or running, as of the last monitor pass' }) })),
    }),
    redis: Type.Object({ status: Status, latency_ms: Latency, error: Failure }),
    mail: Type.Object({
      status: Status,
      mode: Type.String({ description: 'smtp: SMTP_URL is set and the status is its connection check; dev-mailbox: mail is kept in the development mailbox' }),
      latency_ms: Type.Optional(Latency),
      error: Failure,
    }),
    identity: Type.Object({ status: Status, mode: Type.String({ description: 'built-in: the platform is the identity provider' }) }),
  }),
  routes: Type.Object({
    window_seconds: Type.Integer(),
    families: Type.Array(
      Type.Object({
        family: Type.String({ description: 'The first two path segments after /v1, e.g. tenants/customers' }),
        requests: Type.Integer(),
        errors: Type.Integer({ description: 'Answers with a 5xx status' }),
        error_rate: Type.Number(),
        p99_ms: Type.Number({ description: 'Within 10%' }),
      }),
    ),
  }),
}, { $id: 'HealthReport' });
export type HealthReportType = Static<typeof HealthReport>;
