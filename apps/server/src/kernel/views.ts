/** Dates leave the API as ISO 8601 strings. */
export function withIsoDates<R extends Record<string, unknown>>(row: R): { [K in keyof R]: R[K] extends Date ? string : R[K] extends Date | null ? string | null : R[K] } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = value instanceof Date ? value.toISOString() : value;
  return out as never;
}
