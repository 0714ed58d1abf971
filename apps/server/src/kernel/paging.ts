import { AppError } from './errors.ts';

/** Keyset pagination over (created_at, id): stable under inserts, no OFFSET scans. */
export interface Cursor {
  createdAt: string;
  id: string;
}

export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | null {
  if (!cursor) return null;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) {
      return { createdAt, id };
    }
  } catch {
    // falls through to the problem below
  }
  throw new AppError('validation', 'The cursor is not valid.');
}

/** Turns limit+1 fetched rows into a page and the cursor of the next one. */
export function toPage<R extends { created_at: Date; id: string }, O>(rows: R[], limit: number, map: (row: R) => O) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), next_cursor: more ? encodeCursor(items.at(-1)!) : null };
}

export type PageQueryType = { limit?: number; cursor?: string };
