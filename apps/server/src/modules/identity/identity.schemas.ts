import { Type } from 'typebox';
import { DeviceBody } from '../sessions/index.ts';

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Tenant slug; omit for platform operators' })),
    device: Type.Optional(DeviceBody),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  device_id: Type.Optional(Type.String({ description: 'The device of the session: send it as device.id at the next login' })),
}, { $id: 'TokenResponse' });

export const MeResponse = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  tenant_id: Type.Union([Type.String(), Type.Null()]),
  tenant_slug: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  permissions: Type.Array(Type.String(), { description: 'Effective permissions of the session' }),
  session_id: Type.String(),
  amr: Type.Array(Type.String()),
  mfa_enrolled: Type.Boolean({ description: 'The user has an active second factor (NFR-SEC-003)' }),
  mfa_factors: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('webauthn')]), { description: 'The kinds of the active second factors' }),
  impersonator: Type.Union([Type.Object({ id: Type.String(), email: Type.Optional(Type.String()) }), Type.Null()], {
    description: 'The platform staff member acting as this user (FR-RBAC-005); the console shows a banner while it is set',
  }),
  impersonation_expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the impersonation session ends; it cannot be renewed' }),
  email_verified: Type.Boolean({ description: 'FR-VER-001: the address is verified' }),
  phone: Type.Union([Type.String(), Type.Null()], { description: 'E.164' }),
  phone_verified: Type.Boolean(),
  phone_required: Type.Boolean({ description: 'FR-VER-002: the organization requires a verified phone number' }),
  verification_required: Type.Union([Type.Literal('email'), Type.Literal('phone'), Type.Null()], {
    description: 'What the user must verify before any other route answers (403 email-unverified or phone-unverified)',
  }),
}, { $id: 'MeResponse' });

export const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }, { $id: 'Jwks' });
