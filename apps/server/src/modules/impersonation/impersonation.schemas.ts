import { Type, type Static } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const StartImpersonationBody = Type.Object(
  {
    tenant_id: Uuid,
    user_id: Type.String({ format: 'uuid', description: 'A user of that organization; never platform staff' }),
    reason: Type.String({ minLength: 10, maxLength: 500, description: 'Why; recorded with every event of the session' }),
    ticket_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,99}$', description: 'The support ticket' })),
  },
  { additionalProperties: false },
);
export type StartImpersonationInput = Static<typeof StartImpersonationBody>;

export const ImpersonationStarted = Type.Object({
  access_token: Type.String({ description: 'Acts as the user, names the staff member in `act`; no refresh token exists' }),
  token_type: Type.Literal('Bearer'),
  expires_at: Timestamp,
  session_id: Uuid,
}, { $id: 'ImpersonationStarted' });

export const Impersonation = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The impersonation session' }),
  impersonator_id: Uuid,
  impersonator_email: Type.Union([Type.String(), Type.Null()]),
  tenant_id: Uuid,
  user_id: Uuid,
  reason: Type.String(),
  ticket_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('ended'), Type.Literal('expired')]),
  started_at: Timestamp,
  expires_at: Timestamp,
  ended_at: Type.Union([Timestamp, Type.Null()]),
  ended_by: Type.Union([Uuid, Type.Null()], { description: 'Who ended it here; null when it expired or its own session signed out' }),
}, { $id: 'Impersonation' });
export type ImpersonationView = Static<typeof Impersonation>;

export const ListImpersonationsQuery = Type.Object({ ...PageQuery, tenant_id: Type.Optional(Uuid) }, { additionalProperties: false });
export type ListImpersonationsQueryType = Static<typeof ListImpersonationsQuery>;

export const ImpersonationParams = Type.Object({ id: Uuid });
