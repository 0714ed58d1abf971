import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const PermissionKey = Type.String({ pattern: '^[a-z][a-z0-9_.]{1,99}$' });

export const CatalogEntry = Type.Object({
  key: Type.String(),
  description: Type.String(),
  plane: Type.Union([Type.Literal('tenant'), Type.Literal('platform')]),
  sensitive: Type.Boolean(),
}, { $id: 'PermissionCatalogEntry' });
export const Catalog = Type.Object({ version: Type.Integer(), items: Type.Array(CatalogEntry) }, { $id: 'PermissionCatalog' });

export const Role = Type.Object({
  id: Uuid,
  key: Type.Union([Type.String(), Type.Null()], { description: 'Set for the default roles, which cannot be changed or deleted' }),
  name: Type.String(),
  description: Type.String(),
  permissions: Type.Array(Type.String(), { description: 'Effective permissions' }),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Role' });

export const CreateRoleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    permissions: Type.Array(PermissionKey, { maxItems: 200, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type CreateRoleInput = Static<typeof CreateRoleBody>;

export const UpdateRoleBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    permissions: Type.Optional(Type.Array(PermissionKey, { maxItems: 200, uniqueItems: true })),
    version: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type UpdateRoleInput = Static<typeof UpdateRoleBody>;

export const Unit = Type.Object({
  id: Uuid,
  parent_id: Type.Union([Uuid, Type.Null()]),
  name: Type.String(),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Unit' });

export const CreateUnitBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), parent_id: Type.Optional(Type.Union([Uuid, Type.Null()])) },
  { additionalProperties: false },
);
export type CreateUnitInput = Static<typeof CreateUnitBody>;

export const UpdateUnitBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    parent_id: Type.Optional(Type.Union([Uuid, Type.Null()])),
    version: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type UpdateUnitInput = Static<typeof UpdateUnitBody>;

export const Assignment = Type.Object({
  id: Uuid,
  user_id: Uuid,
  role_id: Uuid,
  unit_id: Type.Union([Uuid, Type.Null()], { description: 'Null: the role holds tenant-wide' }),
  created_at: Timestamp,
}, { $id: 'RoleAssignment' });

export const CreateAssignmentBody = Type.Object(
  { user_id: Uuid, role_id: Uuid, unit_id: Type.Optional(Type.Union([Uuid, Type.Null()])) },
  { additionalProperties: false },
);
export type CreateAssignmentInput = Static<typeof CreateAssignmentBody>;

export const ListAssignmentsQuery = Type.Object({
  user_id: Type.Optional(Uuid),
  role_id: Type.Optional(Uuid),
  unit_id: Type.Optional(Uuid),
});
export type ListAssignmentsQueryType = Static<typeof ListAssignmentsQuery>;
