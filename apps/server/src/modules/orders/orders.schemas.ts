import { Type, type Static } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const Status = Type.Union([Type.Literal('open'), Type.Literal('fulfilled'), Type.Literal('cancelled')]);
const Cents = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const Order = Type.Object({
  id: Uuid,
  unit_id: Type.Union([Uuid, Type.Null()], { description: "The customer's organization unit when the order was placed" }),
  customer_id: Uuid,
  status: Status,
  total_cents: Type.Integer(),
  currency: Type.String(),
  notes: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: Type.Union([Timestamp, Type.Null()]),
}, { $id: 'Order' });

export const CreateOrderBody = Type.Object(
  {
    customer_id: Uuid,
    total_cents: Cents,
    currency: Currency,
    status: Type.Optional(Status),
    notes: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type CreateOrderInput = Static<typeof CreateOrderBody>;

export const UpdateOrderBody = Type.Object(
  {
    status: Type.Optional(Status),
    total_cents: Type.Optional(Cents),
    currency: Type.Optional(Currency),
    notes: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    version: Type.Integer({ minimum: 1, description: 'The version read; a stale one gets 409' }),
  },
  { additionalProperties: false },
);
export type UpdateOrderInput = Static<typeof UpdateOrderBody>;

export const ListOrdersQuery = Type.Object({
  ...PageQuery,
  customer_id: Type.Optional(Uuid),
  status: Type.Optional(Status),
  updated_since: Type.Optional(Timestamp),
  include_deleted: Type.Optional(Type.Boolean({ default: false })),
});
export type ListOrdersQueryType = Static<typeof ListOrdersQuery>;
