import { Readable } from 'node:stream';

/**
 * CSV as RFC 4180 writes it (CRLF between records, fields with a comma, quote or line break quoted,
 * quotes doubled), with formula injection neutralised: a text cell that a spreadsheet would run
 * as a formula (starting with = + - @, a tab or a carriage return) gets a leading single quote.
 * Numbers, booleans and dates are written as they are: they cannot carry a formula.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else {
    text = typeof value === 'string' ? value : JSON.stringify(value);
    if (FORMULA_START.test(text)) text = `'${text}`;
  }
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, with its CRLF. */
export function csvRow(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * A CSV document as a stream: the header, then each page of records as the consumer asks for it,
 * so a large export holds one page in memory, never the whole result.
 */
export function csvStream(header: readonly string[], pages: AsyncIterable<readonly (readonly unknown[])[]>): Readable {
  return Readable.from(
    (async function* () {
      yield csvRow(header);
      for await (const page of pages) {
        if (page.length > 0) yield page.map(csvRow).join('');
      }
    })(),
    { objectMode: false },
  );
}
