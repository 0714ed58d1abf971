import { Type, type Static, type TSchema } from 'typebox';

/**
 * Schemas shared by every module's routes. A schema given an `$id` (the resources a route answers
 * with, their pages, Problem) is a named component of the OpenAPI document (openapi.ts).
 */
export const Uuid = Type.String({ format: 'uuid' });

export const TenantParams = Type.Object({ tenantId: Type.String({ maxLength: 64 }) });
export const TenantResourceParams = Type.Object({ tenantId: Type.String({ maxLength: 64 }), id: Uuid });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

/** Optional optimistic-concurrency check on deletes. */
export const VersionQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    correlation_id: Type.String(),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 7807 problem details' },
);

export const Timestamp = Type.String({ format: 'date-time' });

/** A page of items and the cursor of the next; a page of a named schema is named `<Name>Page`. */
export function Page<T extends TSchema>(item: T) {
  const name = (item as { $id?: string }).$id;
  return Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) }, name ? { $id: `${name}Page` } : {});
}

/** Problem responses every private route can give, for the OpenAPI document. */
export const problemResponses = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
};

export type { Static };
