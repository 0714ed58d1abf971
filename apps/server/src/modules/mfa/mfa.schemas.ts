import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code of the authenticator app' });
const RecoveryCode = Type.String({ minLength: 8, maxLength: 20, description: 'One of the recovery codes, e.g. ABCDE-FGHJK' });
/** A WebAuthn response as @simplewebauthn/browser produces it; its parts are checked by the verifier. */
const WebauthnResponse = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1024 }),
    rawId: Type.String({ minLength: 1, maxLength: 1024 }),
    type: Type.Literal('public-key'),
    response: Type.Object({}, { additionalProperties: true }),
    clientExtensionResults: Type.Object({}, { additionalProperties: true }),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 50 })),
  },
  { additionalProperties: false },
);

const proof = {
  totp_code: Type.Optional(TotpCode),
  recovery_code: Type.Optional(RecoveryCode),
  webauthn: Type.Optional(WebauthnResponse),
};

export const VerifyBody = Type.Object(
  { challenge_token: Type.String({ minLength: 10, maxLength: 200 }), ...proof },
  { additionalProperties: false, description: 'The challenge token of the mfa-required answer and exactly one second factor' },
);

export const ChallengeBody = Type.Object({ challenge_token: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });

export const StepUpBody = Type.Object(proof, { additionalProperties: false, minProperties: 1, description: 'Exactly one second factor' });

const RecoveryCodes = Type.Array(Type.String(), { description: 'Shown once: store them somewhere safe' });

export const VerifyResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  device_id: Type.Optional(Type.String()),
  recovery_codes: Type.Optional(RecoveryCodes),
}, { $id: 'MfaVerifyResponse' });

export const StepUpResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
}, { $id: 'StepUpResponse' });

export const Factor = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('totp'), Type.Literal('webauthn')]),
  name: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('active')]),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()]),
}, { $id: 'MfaFactor' });

export const MfaStatus = Type.Object({
  enrolled: Type.Boolean(),
  factors: Type.Array(Factor),
  recovery_codes_remaining: Type.Integer(),
}, { $id: 'MfaStatus' });

export const TotpEnrolment = Type.Object({
  factor_id: Type.String(),
  secret: Type.String({ description: 'Base32 secret, for typing into an authenticator app' }),
  otpauth_uri: Type.String({ description: 'The same secret as an otpauth:// URI, for a QR code' }),
}, { $id: 'TotpEnrolment' });

export const ConfirmTotpBody = Type.Object({ code: TotpCode }, { additionalProperties: false });

export const FactorActivated = Type.Object({ factor: Factor, recovery_codes: Type.Optional(RecoveryCodes) }, { $id: 'MfaFactorActivated' });

export const RecoveryCodesResponse = Type.Object({ recovery_codes: RecoveryCodes }, { $id: 'RecoveryCodesResponse' });

export const RegisterWebauthnBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    response: WebauthnResponse,
  },
  { additionalProperties: false },
);

/** WebAuthn options (PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON) for the browser. */
export const WebauthnOptions = Type.Object({ challenge: Type.String() }, { $id: 'WebauthnOptions', additionalProperties: true });

export const FactorParams = Type.Object({ id: Uuid });

export const MfaPolicyBody = Type.Object(
  {
    required: Type.Union([Type.Literal('off'), Type.Literal('admins'), Type.Literal('all')], { description: 'Who must sign in with a second factor' }),
    new_device: Type.Boolean({ description: 'FR-AUTH-010: sign-ins from a new device are challenged (and recorded as such)' }),
  },
  { additionalProperties: false },
);

export const MfaPolicy = Type.Object({
  tenant_id: Type.String({ format: 'uuid' }),
  required: Type.Union([Type.Literal('off'), Type.Literal('admins'), Type.Literal('all')]),
  new_device: Type.Boolean(),
  version: Type.Integer({ description: '0 while the organization uses the defaults' }),
}, { $id: 'MfaPolicy' });
