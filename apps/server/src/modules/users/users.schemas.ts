import { Type, type Static, type TSchema } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// Users ----------------------------------------------------------------------------------------

export const UserStatus = Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('deleted')]);

export const UserRole = Type.Object({
  assignment_id: Uuid,
  role_id: Uuid,
  key: Nullable(Type.String({ description: 'Set for the default roles (owner, admin, member, readonly, auditor)' })),
  name: Type.String(),
  unit_id: Nullable(Uuid),
}, { $id: 'UserRole' });

export const User = Type.Object({
  id: Uuid,
  email: Type.String({ description: 'For a deleted user, the address it had' }),
  name: Type.String(),
  status: UserStatus,
  roles: Type.Array(UserRole),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: Nullable(Timestamp),
}, { $id: 'User' });

export const ListUsersQuery = Type.Object({
  ...PageQuery,
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Email or name contains (case-insensitive)' })),
  // Deleted users are listed only when asked for by this filter.
  status: Type.Optional(UserStatus),
  role_id: Type.Optional(Uuid),
  unit_id: Type.Optional(Uuid),
});
export type ListUsersQueryType = Static<typeof ListUsersQuery>;

export const ChangeRoleBody = Type.Object(
  {
    role_id: Uuid,
    unit_id: Type.Optional(Nullable(Uuid)),
    version: Type.Optional(Type.Integer({ minimum: 1, description: "The user's version read; a stale one gets 409" })),
  },
  { additionalProperties: false },
);
export type ChangeRoleInput = Static<typeof ChangeRoleBody>;

// Invitations ----------------------------------------------------------------------------------

export const InvitationStatus = Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('revoked'), Type.Literal('expired')]);
export type InvitationStatusType = Static<typeof InvitationStatus>;

export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role_id: Uuid,
  unit_id: Nullable(Uuid),
  status: InvitationStatus,
  expires_at: Timestamp,
  invited_by: Nullable(Uuid),
  sent_count: Type.Integer(),
  last_sent_at: Timestamp,
  accepted_user_id: Nullable(Uuid),
  accepted_at: Nullable(Timestamp),
  revoked_at: Nullable(Timestamp),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Invitation' });

export const InvitationList = Type.Object({
  items: Type.Array(Invitation),
  next_cursor: Nullable(Type.String()),
  expiry_days: Type.Integer({ description: 'How long new invitations of the organization stay valid' }),
}, { $id: 'InvitationList' });

export const ListInvitationsQuery = Type.Object({ ...PageQuery, status: Type.Optional(InvitationStatus) });
export type ListInvitationsQueryType = Static<typeof ListInvitationsQuery>;

export const CreateInvitationBody = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 320 }), role_id: Uuid, unit_id: Type.Optional(Nullable(Uuid)) },
  { additionalProperties: false },
);
export type CreateInvitationInput = Static<typeof CreateInvitationBody>;

/** The range of an organization's invitation expiry; the default is the policy's users.invitation_expiry_days. */
export const INVITATION_EXPIRY_DAYS = { minimum: 1, maximum: 30 } as const;

export const InvitationSettingsBody = Type.Object(
  { expiry_days: Type.Integer({ minimum: INVITATION_EXPIRY_DAYS.minimum, maximum: INVITATION_EXPIRY_DAYS.maximum }) },
  { additionalProperties: false },
);
export type InvitationSettingsInput = Static<typeof InvitationSettingsBody>;

export const InvitationSettings = Type.Object({ expiry_days: Type.Integer(), version: Type.Integer(), updated_at: Timestamp }, { $id: 'InvitationSettings' });

export const AcceptInvitationBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    // Longer than the policy allows, so that a too long password is told so by the policy's rules.
    password: Type.String({ minLength: 1, maxLength: 4096 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type AcceptInvitationInput = Static<typeof AcceptInvitationBody>;

export const AcceptedInvitation = Type.Object({
  user_id: Uuid,
  tenant_id: Uuid,
  tenant_slug: Type.String(),
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
}, { $id: 'AcceptedInvitation' });
