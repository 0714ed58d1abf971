import { Type, type Static } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const FLAG_KEY_PATTERN = '^[a-z][a-z0-9]*([._-][a-z0-9]+)*$';
// Not 'true' or 'false': those read as booleans.
const VARIANT_PATTERN = '^(?!true$|false$)[a-z0-9][a-z0-9_-]{0,31}$';
const PLAN_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';

export const FlagKey = Type.String({ pattern: FLAG_KEY_PATTERN, maxLength: 64 });
export const FlagKeyParams = Type.Object({ key: FlagKey });

/** true/false for a boolean flag, a variant's name for a variant flag. */
export const FlagValue = Type.Union([Type.Boolean(), Type.String({ maxLength: 32 })], { description: 'true/false, or a variant name' });
const Variants = Type.Array(Type.String({ pattern: VARIANT_PATTERN }), { minItems: 2, maxItems: 20, uniqueItems: true });
const PlanDefaults = Type.Record(Type.String({ pattern: PLAN_PATTERN }), FlagValue, {
  additionalProperties: false,
  maxProperties: 50,
  description: 'Plan key (tenants.plan) -> value',
});

export const Flag = Type.Object({
  key: Type.String(),
  kind: Type.Union([Type.Literal('boolean'), Type.Literal('variant')]),
  variants: Type.Array(Type.String()),
  default_value: FlagValue,
  plan_defaults: Type.Record(Type.String(), FlagValue),
  description: Type.String(),
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Flag' });

export const CreateFlagBody = Type.Object(
  {
    key: FlagKey,
    kind: Type.Union([Type.Literal('boolean'), Type.Literal('variant')]),
    variants: Type.Optional(Variants),
    default_value: FlagValue,
    plan_defaults: Type.Optional(PlanDefaults),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type CreateFlagInput = Static<typeof CreateFlagBody>;

export const UpdateFlagBody = Type.Object(
  {
    variants: Type.Optional(Variants),
    default_value: Type.Optional(FlagValue),
    plan_defaults: Type.Optional(PlanDefaults),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    version: Type.Integer({ minimum: 1, description: 'The version read; a stale one gets 409' }),
  },
  { additionalProperties: false },
);
export type UpdateFlagInput = Static<typeof UpdateFlagBody>;

export const ListFlagsQuery = Type.Object({ ...PageQuery });

export const Override = Type.Object({
  tenant_id: Uuid,
  flag_key: Type.String(),
  value: FlagValue,
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'FlagOverride' });

export const SetOverrideBody = Type.Object({ tenant_id: Uuid, value: FlagValue }, { additionalProperties: false });
export type SetOverrideInput = Static<typeof SetOverrideBody>;
export const OverrideTenantQuery = Type.Object({ tenant_id: Uuid });
export const ListOverridesQuery = Type.Object({
  limit: PageQuery.limit,
  cursor: Type.Optional(Uuid),
});

// Kill switches --------------------------------------------------------------------------------

const SwitchNameSchema = Type.Union([Type.Literal('messaging'), Type.Literal('ai'), Type.Literal('exports'), Type.Literal('sync')]);
const ChannelSchema = Type.Union([Type.Literal('email'), Type.Literal('sms'), Type.Literal('whatsapp'), Type.Literal('push')]);

export const KillSwitch = Type.Object({
  id: Uuid,
  name: SwitchNameSchema,
  scope: Type.Union([Type.Literal('global'), Type.Literal('tenant')]),
  tenant_id: Type.Union([Uuid, Type.Null()]),
  channel: Type.Union([ChannelSchema, Type.Null()]),
  tripped: Type.Boolean(),
  reason: Type.String(),
  tripped_by: Type.Union([Type.String(), Type.Null()]),
  tripped_at: Type.Union([Timestamp, Type.Null()]),
  reset_by: Type.Union([Type.String(), Type.Null()]),
  reset_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'KillSwitch' });

const SwitchTarget = {
  name: SwitchNameSchema,
  tenant_id: Type.Optional(Type.Union([Uuid, Type.Null()], { description: 'The tenant; absent or null for the global switch' })),
  channel: Type.Optional(Type.Union([ChannelSchema, Type.Null()], { description: 'Messaging only: one channel; absent for every channel' })),
};

export const TripSwitchBody = Type.Object(
  { ...SwitchTarget, reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
export type TripSwitchInput = Static<typeof TripSwitchBody>;

export const ResetSwitchBody = Type.Object(
  { ...SwitchTarget, reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type ResetSwitchInput = Static<typeof ResetSwitchBody>;

export const ListSwitchesQuery = Type.Object({
  ...PageQuery,
  tripped: Type.Optional(Type.Boolean()),
  tenant_id: Type.Optional(Uuid),
});
export type ListSwitchesQueryType = Static<typeof ListSwitchesQuery>;

// What tenants and managed applications receive ------------------------------------------------

export const AffectingSwitch = Type.Object({
  name: SwitchNameSchema,
  scope: Type.Union([Type.Literal('global'), Type.Literal('tenant')]),
  channel: Type.Union([ChannelSchema, Type.Null()]),
}, { $id: 'AffectingSwitch' });

/** A tenant's effective flags and the tripped switches that affect it: what the ETag covers. */
export const FlagsDocument = Type.Object({
  tenant_id: Uuid,
  flags: Type.Record(Type.String(), FlagValue),
  switches: Type.Array(AffectingSwitch),
}, { $id: 'FlagsDocument' });

const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: '#rrggbb' });
const LogoUrl = Type.String({ pattern: '^https://', format: 'uri', maxLength: 2048, description: 'An https URL' });

export const Settings = Type.Object({
  locale: Type.String({ description: 'BCP 47 language tag' }),
  timezone: Type.String({ description: 'IANA time zone' }),
}, { $id: 'TenantSettings' });
export const Branding = Type.Object({
  logo_url: Type.Union([Type.String(), Type.Null()]),
  primary_color: Type.Union([Type.String(), Type.Null()]),
  accent_color: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'Branding' });

export const SettingsDocument = Type.Object({
  settings: Settings,
  branding: Branding,
  version: Type.Integer({ description: '0 until the settings are first saved' }),
  updated_at: Type.Union([Timestamp, Type.Null()]),
}, { $id: 'SettingsDocument' });

export const TenantConfig = Type.Object({
  tenant_id: Uuid,
  plan: Type.String(),
  flags: Type.Record(Type.String(), FlagValue),
  switches: Type.Array(AffectingSwitch),
  ...SettingsDocument.properties,
}, { $id: 'TenantConfig' });

export const PutSettingsBody = Type.Object(
  {
    settings: Type.Object(
      {
        locale: Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35 }),
        timezone: Type.String({ minLength: 1, maxLength: 64 }),
      },
      { additionalProperties: false },
    ),
    branding: Type.Object(
      {
        logo_url: Type.Union([LogoUrl, Type.Null()]),
        primary_color: Type.Union([Color, Type.Null()]),
        accent_color: Type.Union([Color, Type.Null()]),
      },
      { additionalProperties: false },
    ),
    version: Type.Optional(Type.Integer({ minimum: 0, description: 'The version read (0 before the first save); a stale one gets 409' })),
  },
  { additionalProperties: false },
);
export type PutSettingsInput = Static<typeof PutSettingsBody>;

export const DeliveryQuery = Type.Object({ tenant: Uuid });
