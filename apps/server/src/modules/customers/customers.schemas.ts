import { Type, type Static } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const UnitId = Type.Union([Uuid, Type.Null()], { description: 'The organization unit the customer belongs to; null: tenant-wide' });

export const Customer = Type.Object({
  id: Uuid,
  unit_id: UnitId,
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  order_count: Type.Integer(),
  order_total_cents: Type.Integer(),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: Type.Union([Timestamp, Type.Null()]),
}, { $id: 'Customer' });

const Email = Type.String({ format: 'email', maxLength: 320 });
const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{4,32}$' });

export const CreateCustomerBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), email: Type.Optional(Email), phone: Type.Optional(Phone), unit_id: Type.Optional(UnitId) },
  { additionalProperties: false },
);
export type CreateCustomerInput = Static<typeof CreateCustomerBody>;

export const UpdateCustomerBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    phone: Type.Optional(Type.Union([Phone, Type.Null()])),
    unit_id: Type.Optional(UnitId),
    version: Type.Integer({ minimum: 1, description: 'The version read; a stale one gets 409' }),
  },
  { additionalProperties: false },
);
export type UpdateCustomerInput = Static<typeof UpdateCustomerBody>;

export const ListCustomersQuery = Type.Object({
  ...PageQuery,
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Name contains (case-insensitive)' })),
  updated_since: Type.Optional(Timestamp),
  include_deleted: Type.Optional(Type.Boolean({ default: false })),
});
export type ListCustomersQueryType = Static<typeof ListCustomersQuery>;
