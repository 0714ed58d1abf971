import { Type, type Static } from 'typebox';
import type { AuditReadMark } from '../../kernel/audit/audit.ts';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Marks a route's resource as sensitive (FR-AUD-005): every successful answer is preceded by a
     * `resource.read` audit event naming the resource type and the id in the path.
     */
    auditRead?: AuditReadMark;
  }
}

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;

const NullableString = Type.Union([Type.String(), Type.Null()]);

const ActorType = Type.Enum(['user', 'operator', 'system', 'anonymous', 'api_key'] as const);
const Outcome = Type.Enum(['success', 'failure', 'denied'] as const);
const Category = Type.Enum(['audit', 'security'] as const);
const SeverityLevel = Type.Enum(SEVERITIES);

export const AuditEvent = Type.Object({
  id: Uuid,
  tenant_id: Type.Union([Uuid, Type.Null()]),
  chain_id: Uuid,
  seq: Type.Integer(),
  occurred_at: Timestamp,
  category: Category,
  severity: SeverityLevel,
  actor_type: ActorType,
  actor_id: NullableString,
  action: Type.String(),
  resource_type: NullableString,
  resource_id: NullableString,
  outcome: Outcome,
  ip: NullableString,
  user_agent: NullableString,
  correlation_id: NullableString,
  impersonator_id: Type.Union([Uuid, Type.Null()], { description: 'The platform staff member acting as the actor (impersonation)' }),
  impersonation_reason: NullableString,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  prev_hash: Type.String({ description: 'Hash of the previous event of the chain' }),
  hash: Type.String({ description: 'sha256(prev_hash \\n seq \\n canonical event)' }),
}, { $id: 'AuditEvent' });
export type AuditEventView = Static<typeof AuditEvent>;

/** The filters of the search and the export (FR-AUD-001, FR-LOG-002). */
const Filters = {
  actor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  actor_type: Type.Optional(ActorType),
  action: Type.Optional(
    Type.String({
      maxLength: 100,
      pattern: '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*(\\.\\*)?$',
      description: "An action (`auth.login`), or every action under a prefix (`auth.*`)",
    }),
  ),
  resource_type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  resource_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  outcome: Type.Optional(Outcome),
  category: Type.Optional(Type.Enum(['audit', 'security'], { description: '`security` lists the security events' })),
  severity: Type.Optional(Type.Enum(SEVERITIES, { description: 'This severity or a higher one' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'occurred_at at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'occurred_at before' })),
  correlation_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  impersonator_id: Type.Optional(Uuid),
};

/** What only the platform view filters on. */
const PlatformFilters = {
  tenant: Type.Optional(
    Type.Union([Uuid, Type.Literal('platform')], { description: 'One tenant, or `platform` for the platform chain' }),
  ),
  region: Type.Optional(Type.Enum(['US', 'EU', 'UK', 'JP'] as const, { description: 'Only the tenants of this region' })),
};

export const SearchQuery = Type.Object({ ...PageQuery, ...Filters }, { additionalProperties: false });
export const ExportQuery = Type.Object(Filters, { additionalProperties: false });
export const PlatformSearchQuery = Type.Object({ ...PageQuery, ...Filters, ...PlatformFilters }, { additionalProperties: false });
export const PlatformExportQuery = Type.Object({ ...Filters, ...PlatformFilters }, { additionalProperties: false });

export type AuditFilters = Static<typeof PlatformExportQuery>;
export type SearchQueryType = Static<typeof PlatformSearchQuery>;

export const AuditEventPage = Type.Object({ items: Type.Array(AuditEvent), next_cursor: NullableString }, { $id: 'AuditEventPage' });

export const CsvResponse = {
  description: 'CSV (RFC 4180), one header row, newest event first',
  content: { 'text/csv': { schema: Type.String() } },
};

/** One event a managed application sends (FR-LOG-001). */
const IngestEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The event id, chosen by the application: the idempotency key' }),
    occurred_at: Timestamp,
    actor: Type.Object(
      {
        type: Type.Enum(['user', 'system', 'anonymous', 'api_key'] as const),
        id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    action: Type.String({ maxLength: 100, pattern: '^app\\.[a-z0-9_]+(\\.[a-z0-9_]+)*$', description: 'Namespaced under `app.`' }),
    resource: Type.Optional(
      Type.Object({ type: Type.String({ minLength: 1, maxLength: 100 }), id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    ),
    outcome: Outcome,
    ip: Type.Optional(Type.Union([Type.String({ format: 'ipv4' }), Type.String({ format: 'ipv6' })])),
    user_agent: Type.Optional(Type.String({ maxLength: 512 })),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 })),
  },
  { additionalProperties: false },
);

const INGEST_BATCH_LIMIT = 500;

export const IngestBody = Type.Object(
  { events: Type.Array(IngestEvent, { minItems: 1, maxItems: INGEST_BATCH_LIMIT }) },
  { additionalProperties: false },
);
export type IngestBodyType = Static<typeof IngestBody>;

export const IngestResult = Type.Object({
  appended: Type.Integer(),
  duplicates: Type.Integer(),
  results: Type.Array(Type.Object({ id: Uuid, status: Type.Union([Type.Literal('appended'), Type.Literal('duplicate')]) })),
}, { $id: 'AuditIngestResult' });
