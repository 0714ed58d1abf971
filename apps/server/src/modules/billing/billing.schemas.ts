import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const MAX_BATCH = 1000;

/** One billing event as a managed application reports it; each item of a batch is checked on its own. */
export const BillingEventInput = Type.Object(
  {
    idempotency_id: Type.String({ minLength: 1, maxLength: 200, description: "The application's id for the event: sending it again is a duplicate, not a new event" }),
    tenant_id: Uuid,
    type: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$', description: 'What is billed, e.g. api.calls or storage.gb_hours' }),
    quantity: Type.Number({ minimum: 0, maximum: 1e12, description: 'Stored with 6 decimal places' }),
    occurred_at: Timestamp,
  },
  { additionalProperties: false },
);
export type BillingEventInputType = Static<typeof BillingEventInput>;

export const IngestBody = Type.Object(
  {
    events: Type.Array(Type.Unknown({ description: 'A BillingEventInput; an invalid item is rejected alone' }), {
      minItems: 1,
      maxItems: MAX_BATCH,
      description: `Up to ${MAX_BATCH} events`,
    }),
  },
  { additionalProperties: false },
);
export type IngestBodyType = Static<typeof IngestBody>;

const ItemError = Type.Object({ path: Type.String(), message: Type.String() });

export const IngestResult = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  items: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('rejected')]),
      errors: Type.Optional(Type.Array(ItemError)),
    }),
  ),
}, { $id: 'BillingIngestResult' });
export type IngestResultType = Static<typeof IngestResult>;

export const ExportQuery = Type.Object(
  {
    tenant: Uuid,
    from: Type.String({ format: 'date-time', description: 'Start of the period (inclusive), by occurred_at' }),
    to: Type.String({ format: 'date-time', description: 'End of the period (exclusive)' }),
    app: Type.Optional(Uuid),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
  },
  { additionalProperties: false },
);
export type ExportQueryType = Static<typeof ExportQuery>;

export const CsvExportQuery = Type.Object(
  { tenant: ExportQuery.properties.tenant, from: ExportQuery.properties.from, to: ExportQuery.properties.to, app: ExportQuery.properties.app },
  { additionalProperties: false },
);
export type CsvExportQueryType = Static<typeof CsvExportQuery>;

const Decimal = Type.String({ pattern: '^[0-9]+\\.[0-9]{6}$', description: 'An exact decimal with 6 places' });

export const BillingEvent = Type.Object({
  id: Uuid,
  app_id: Uuid,
  idempotency_id: Type.String(),
  type: Type.String(),
  quantity: Decimal,
  occurred_at: Timestamp,
  received_at: Timestamp,
}, { $id: 'BillingEvent' });

export const ExportPage = Type.Object({
  tenant_id: Uuid,
  from: Timestamp,
  to: Timestamp,
  items: Type.Array(BillingEvent),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  totals: Type.Array(Type.Object({ type: Type.String(), events: Type.Integer(), quantity: Decimal }), {
    description: 'Per type, over the whole period (every page), not only this page',
  }),
}, { $id: 'BillingExportPage' });

export const CsvResponse = {
  description: 'CSV (RFC 4180), one header row, events in occurred_at order',
  content: { 'text/csv': { schema: Type.String() } },
};
