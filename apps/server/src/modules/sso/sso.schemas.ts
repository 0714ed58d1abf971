import { Type, type Static } from 'typebox';
import { Timestamp } from '../../kernel/http/schemas.ts';
import { DeviceBody } from '../sessions/index.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A default tenant role a JIT user may get: never Owner (FR-AUTH-003). */
const JitRole = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('readonly'), Type.Literal('auditor')]);
const Domain = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$' });

export const SsoConfigBody = Type.Object(
  {
    issuer: Type.String({ minLength: 8, maxLength: 500, pattern: '^https?://', description: "The identity provider's issuer URL, exactly as its discovery document states it" }),
    client_id: Type.String({ minLength: 1, maxLength: 500 }),
    client_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Write-only; omit to keep the stored secret' })),
    allowed_domains: Type.Array(Domain, { minItems: 1, maxItems: 50, description: 'Email domains whose users may sign in and be provisioned' }),
    enabled: Type.Boolean(),
    default_role: JitRole,
    link_existing_accounts: Type.Optional(
      Type.Boolean({
        description:
          'A first sign-in links an existing account with the address the provider verified, unless that account has a second factor or a sensitive permission; omitted: false',
      }),
    ),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'The version read; a stale one is refused (409)' })),
  },
  { additionalProperties: false },
);
export type SsoConfigInput = Static<typeof SsoConfigBody>;

export const SsoConfig = Type.Object({
  tenant_id: Type.String(),
  configured: Type.Boolean(),
  issuer: Nullable(Type.String()),
  client_id: Nullable(Type.String()),
  client_secret_set: Type.Boolean(),
  allowed_domains: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  default_role: Nullable(Type.String()),
  link_existing_accounts: Type.Boolean(),
  /** What to register at the identity provider as the redirect URI. */
  redirect_uri: Type.String(),
  version: Nullable(Type.Integer()),
  updated_at: Nullable(Timestamp),
}, { $id: 'SsoConfig' });

export const SlugParams = Type.Object({ tenantSlug: Type.String({ minLength: 1, maxLength: 63 }) });

export const SsoAvailability = Type.Object({ enabled: Type.Boolean() }, { $id: 'SsoAvailability' });

export const CallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 500 })),
  code: Type.Optional(Type.String({ maxLength: 4000 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(Type.String({ maxLength: 1000 })),
  iss: Type.Optional(Type.String({ maxLength: 500 })),
  session_state: Type.Optional(Type.String({ maxLength: 500 })),
});

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  device_id: Type.Optional(Type.String({ description: 'The device of the session: send it as device.id at the next login' })),
}, { $id: 'TokenResponse' });

export const ExchangeBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 200 }),
    device: Type.Optional(DeviceBody),
  },
  { additionalProperties: false },
);

export const LinkStart = Type.Object({ location: Type.String({ description: "The identity provider's authorization URL: open it in this browser" }) }, { $id: 'SsoLinkStart' });
