import { Type, type Static } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const Region = Type.Union([Type.Literal('US'), Type.Literal('EU'), Type.Literal('UK'), Type.Literal('JP')]);
export const Slug = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$', maxLength: 63 });
export const Plan = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' });

export const Tenant = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  plan: Type.String(),
  region: Region,
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Tenant' });

export const CreateTenantBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    slug: Slug,
    plan: Type.Optional(Plan),
    region: Region,
    owner: Type.Object(
      {
        email: Type.String({ format: 'email', maxLength: 320 }),
        name: Type.Optional(Type.String({ maxLength: 200 })),
        password: Type.Optional(Type.String({ minLength: 12, maxLength: 1024 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type CreateTenantInput = Static<typeof CreateTenantBody>;

export const UpdateTenantBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    plan: Type.Optional(Plan),
    version: Type.Integer({ minimum: 1, description: 'The version read; a stale one gets 409' }),
  },
  { additionalProperties: false },
);
export type UpdateTenantInput = Static<typeof UpdateTenantBody>;

/** FR-TENANT-003: the organization's Owner changes its plan. */
export const ChangePlanBody = Type.Object({ plan: Plan }, { additionalProperties: false });

export const TenantIdParams = Type.Object({ id: Uuid });
export const ListTenantsQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
});
