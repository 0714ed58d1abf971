import { sql, type SelectQueryBuilder } from 'kysely';
import type { Cursor } from '../paging.ts';

/** Rows after the cursor in (created_at, id) order. */
export function afterCursor<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, after: Cursor | null) {
  if (!after) return query;
  return query.where(sql<boolean>`(created_at, id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
}

/** Rows changed at or after a time (the basis of incremental sync). */
export function updatedSince<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, since: string | undefined) {
  if (!since) return query;
  return query.where(sql<boolean>`updated_at >= ${since}::timestamptz`);
}
