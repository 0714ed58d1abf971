import { Type } from 'typebox';
import { PASSWORD_MAX_LENGTH, PASSWORD_MINIMUM_FLOORS, PASSWORD_POLICY_LIMITS } from './password-policy.ts';

// New passwords are limited only by the policy's maximum: the policy reports a long one as a rule,
// and the body limit below keeps requests bounded.
const NewPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 });

export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: NewPassword },
  { additionalProperties: false },
);

export const PasswordResetBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Tenant slug; omit for platform staff' })),
  },
  { additionalProperties: false },
);

export const PasswordResetAccepted = Type.Object({ status: Type.Literal('accepted'), message: Type.String() }, { $id: 'PasswordResetAccepted' });

export const PasswordResetConfirmBody = Type.Object(
  {
    token: Type.String({ minLength: 10, maxLength: 200 }),
    new_password: NewPassword,
    // FR-AUTH-004: a reset never bypasses MFA; users with a second factor send one of these.
    totp_code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    recovery_code: Type.Optional(Type.String({ minLength: 8, maxLength: 20 })),
  },
  { additionalProperties: false },
);

// The lower bounds here are the lowest any product may set; a value below the product's own
// minimum (GET answers it while the organization has set nothing) is refused by the service.
export const PasswordPolicyBody = Type.Object(
  {
    min_length: Type.Integer({ minimum: PASSWORD_MINIMUM_FLOORS.minLength, maximum: PASSWORD_POLICY_LIMITS.minLength }),
    require_all_classes: Type.Boolean(),
    history: Type.Integer({ minimum: PASSWORD_MINIMUM_FLOORS.history, maximum: PASSWORD_POLICY_LIMITS.history }),
    min_strength: Type.Optional(
      Type.Integer({
        minimum: PASSWORD_MINIMUM_FLOORS.minStrength,
        maximum: PASSWORD_POLICY_LIMITS.minStrength,
        description: "The guess estimate (zxcvbn score) new passwords must reach; the product's minimum when omitted",
      }),
    ),
  },
  { additionalProperties: false },
);

export const PasswordPolicyResponse = Type.Object({
  tenant_id: Type.String({ format: 'uuid' }),
  min_length: Type.Integer(),
  require_all_classes: Type.Boolean(),
  history: Type.Integer(),
  min_strength: Type.Integer(),
  version: Type.Integer({ description: "0 while the organization uses the product's minimum" }),
}, { $id: 'PasswordPolicyResponse' });
