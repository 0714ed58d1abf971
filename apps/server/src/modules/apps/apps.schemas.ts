import { Type, type Static } from 'typebox';
import { APP_SCOPES } from '../../kernel/auth/permissions.ts';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const Environment = Type.Union([Type.Literal('development'), Type.Literal('staging'), Type.Literal('production')]);
export type EnvironmentName = Static<typeof Environment>;

const Scope = Type.Enum(APP_SCOPES);

export const Application = Type.Object({
  id: Uuid,
  name: Type.String(),
  environment: Environment,
  owner: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  disabled_at: Type.Union([Timestamp, Type.Null()]),
}, { $id: 'Application' });

export const RegisterApplicationBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    environment: Environment,
    owner: Type.String({ format: 'email', maxLength: 320, description: 'The person or team answerable for the application' }),
  },
  { additionalProperties: false },
);
export type RegisterApplicationInput = Static<typeof RegisterApplicationBody>;

export const ListApplicationsQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
});
export type ListApplicationsQueryType = Static<typeof ListApplicationsQuery>;

export const AppParams = Type.Object({ appId: Uuid });
export const AppKeyParams = Type.Object({ appId: Uuid, keyId: Uuid });

export const ApplicationKey = Type.Object({
  id: Uuid,
  app_id: Uuid,
  prefix: Type.String({ description: 'The public part of the key, to recognise it in lists and logs' }),
  scopes: Type.Array(Scope),
  tenant_ids: Type.Union([Type.Array(Uuid), Type.Null()], { description: 'The tenants the key may act for; null for every tenant' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Recorded at most once a minute per key and node' }),
}, { $id: 'ApplicationKey' });

export const IssuedApplicationKey = Type.Object({
  ...ApplicationKey.properties,
  secret: Type.String({ description: 'The whole key, to send as `Authorization: Bearer` or `X-API-Key`; shown only in this response' }),
}, { $id: 'IssuedApplicationKey' });

export const IssueKeyBody = Type.Object(
  {
    scopes: Type.Array(Scope, { minItems: 1, maxItems: APP_SCOPES.length, uniqueItems: true }),
    tenant_ids: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'Omit for every tenant' })),
    expires_at: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type IssueKeyInput = Static<typeof IssueKeyBody>;

export const ApplicationKeyList = Type.Object({ items: Type.Array(ApplicationKey) }, { $id: 'ApplicationKeyList' });
