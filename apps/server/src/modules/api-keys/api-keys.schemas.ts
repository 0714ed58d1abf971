import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../kernel/http/schemas.ts';

const Scopes = Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Permission keys the key may use' });

export const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'Shown to tell keys apart; the key starts tsv_key_<prefix>_' }),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  created_by: Uuid,
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()]),
  revoked_at: Type.Union([Timestamp, Type.Null()]),
  replaced_by: Type.Union([Uuid, Type.Null()]),
}, { $id: 'ApiKey' });

export const IssuedApiKey = Type.Intersect([ApiKey, Type.Object({ secret: Type.String({ description: 'The whole key; shown this once only' }) })], { $id: 'IssuedApiKey' });

export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey) }, { $id: 'ApiKeyList' });

export const CreateApiKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), scopes: Scopes, expires_at: Type.Optional(Timestamp) },
  { additionalProperties: false },
);
export type CreateApiKeyInput = Static<typeof CreateApiKeyBody>;

export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

export const RotateApiKeyBody = Type.Object(
  {
    overlap_seconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600, description: 'How long the old key stays valid (default 24 h, at most 7 days)' }),
    ),
  },
  { additionalProperties: false },
);
export type RotateApiKeyInput = Static<typeof RotateApiKeyBody>;
