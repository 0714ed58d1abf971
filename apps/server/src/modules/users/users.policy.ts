import { Type, type Static } from 'typebox';
import { policySection } from '../../kernel/policy.ts';
import { INVITATION_EXPIRY_DAYS } from './users.schemas.ts';

/** The users section of the product policy: what an organization that set nothing of its own gets (FR-TENANT-007). */
export const UsersPolicy = policySection({
  invitation_expiry_days: Type.Integer({
    minimum: INVITATION_EXPIRY_DAYS.minimum,
    maximum: INVITATION_EXPIRY_DAYS.maximum,
    default: 7,
    description: "How long a new invitation stays valid in an organization that has not set its own expiry (PUT /v1/tenants/{id}/invitation-settings, within the same range).",
  }),
});
export type UsersPolicyType = Static<typeof UsersPolicy>;
