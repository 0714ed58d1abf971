import { Type } from 'typebox';

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Tenant slug; omit for platform operators' })),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
});

export const MeResponse = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  tenant_id: Type.Union([Type.String(), Type.Null()]),
  tenant_slug: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  session_id: Type.String(),
  amr: Type.Array(Type.String()),
});

export const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) });
