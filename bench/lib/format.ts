/** Numbers as the report and the progress lines print them. */

export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? 'n/a' : `${fmt(value * 100, 1)}%`);
