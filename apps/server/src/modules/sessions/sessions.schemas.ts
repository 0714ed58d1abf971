import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../kernel/http/schemas.ts';

/** The device a client signs in from (FR-AUTH-008), sent with any sign-in that opens a session. */
export const DeviceBody = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid', description: 'The device_id of an earlier login; omit on a first login' })),
    os: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    app_version: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
  },
  { additionalProperties: false, description: 'The device signing in (FR-AUTH-008); tenant users only' },
);

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const IdParams = Type.Object({ id: Uuid });
export const UserParams = Type.Object({ tenantId: Type.String({ maxLength: 64 }), userId: Uuid });
export const UserSessionParams = Type.Object({ tenantId: Type.String({ maxLength: 64 }), userId: Uuid, id: Uuid });

export const SessionSummary = Type.Object({
  id: Type.String(),
  created_at: Timestamp,
  last_seen_at: Timestamp,
  expires_at: Timestamp,
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  device_id: Nullable(Type.String()),
  new_device: Type.Boolean({ description: 'Opened from a device not seen before for this user' }),
  amr: Type.Array(Type.String()),
  impersonated: Type.Boolean({ description: 'A platform staff member acting as the user (FR-RBAC-005)' }),
  current: Type.Boolean({ description: 'The session making this request' }),
}, { $id: 'SessionSummary' });

export const Device = Type.Object({
  id: Type.String(),
  os: Nullable(Type.String()),
  app_version: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  first_seen_at: Timestamp,
  last_seen_at: Timestamp,
  active_sessions: Type.Integer(),
}, { $id: 'Device' });

const Seconds = Type.Integer({ minimum: 60, maximum: 30 * 86_400 });

export const SessionPolicyBody = Type.Object(
  {
    idle_timeout_seconds: Nullable(Seconds),
    absolute_ttl_seconds: Nullable(Type.Integer({ minimum: 300, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false, description: 'Each value may only be shorter than the environment\'s; null uses the environment\'s' },
);

export const SessionPolicy = Type.Object({
  tenant_id: Type.String(),
  idle_timeout_seconds: Nullable(Type.Integer()),
  absolute_ttl_seconds: Nullable(Type.Integer()),
  effective: Type.Object({
    idle_timeout_seconds: Type.Integer(),
    absolute_ttl_seconds: Type.Integer(),
    admin_absolute_ttl_seconds: Type.Integer(),
    refresh_token_ttl_seconds: Type.Integer(),
  }),
}, { $id: 'SessionPolicy' });

export const SessionList = Type.Object({ items: Type.Array(SessionSummary) }, { $id: 'SessionList' });
export const DeviceList = Type.Object({ items: Type.Array(Device) }, { $id: 'DeviceList' });
