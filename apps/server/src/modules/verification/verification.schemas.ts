import { Type, type Static } from 'typebox';

const Channel = Type.Union([Type.Literal('sms'), Type.Literal('whatsapp'), Type.Literal('email')]);
export type PhoneChannel = Static<typeof Channel>;

const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code' });

export const SendResponse = Type.Object({
  sent: Type.Boolean(),
  expires_in: Type.Integer({ description: 'Seconds the link and code work' }),
}, { $id: 'VerificationSent' });

export const LinkBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const CodeBody = Type.Object({ code: Code }, { additionalProperties: false });
export const VerifiedResponse = Type.Object({ verified: Type.Boolean() }, { $id: 'VerificationResult' });

export const PhoneBody = Type.Object(
  {
    phone: Type.String({ minLength: 6, maxLength: 32, description: 'E.164, e.g. +14155550123 (spaces, dots, dashes and brackets are ignored)' }),
    channel: Type.Optional(Channel),
  },
  { additionalProperties: false },
);
export const PhoneResponse = Type.Object({
  phone: Type.String(),
  phone_verified: Type.Boolean(),
  channel: Channel,
  expires_in: Type.Integer({ description: 'Seconds the code works' }),
}, { $id: 'PhoneNumber' });

export const VerificationPolicyBody = Type.Object(
  {
    require_phone: Type.Boolean({ description: 'Members must verify a phone number before anything else (FR-VER-002)' }),
    default_channel: Type.Optional(Channel),
  },
  { additionalProperties: false },
);
export type VerificationPolicyInput = Static<typeof VerificationPolicyBody>;

export const VerificationPolicy = Type.Object({
  tenant_id: Type.String(),
  require_phone: Type.Boolean(),
  default_channel: Channel,
  version: Type.Integer({ description: '0 until the policy is first saved' }),
}, { $id: 'VerificationPolicy' });
