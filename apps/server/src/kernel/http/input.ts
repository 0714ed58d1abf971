import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

/**
 * Input the API refuses before any handler sees it, because it is ambiguous or cannot be stored:
 * NUL characters (PostgreSQL text cannot hold U+0000), lone UTF-16 surrogates (they would be
 * stored as U+FFFD), duplicate keys in a JSON object (which value wins depends on the parser),
 * and bodies that are not UTF-8 (RFC 8259 8.1). Each is a problem naming where the fault is.
 */

/** Where a fault is (as in validation problems: `body/…`, `querystring/…`, `params/…`) and what it is. */
export interface InputFault {
  path: string;
  message: string;
}

const NUL = 'must not contain a NUL character (U+0000)';
const LONE_SURROGATE = 'must not contain a lone surrogate (an unpaired \\uD800-\\uDFFF escape)';
const NOT_UTF8 = 'is not valid percent-encoded UTF-8';
// In a `u` regular expression a surrogate pair is one code point; only an unpaired half is in Cs.
const LONE_SURROGATE_PATTERN = /\p{Cs}/u;

function stringFault(value: string): string | null {
  if (value.includes('\u0000')) return NUL;
  if (LONE_SURROGATE_PATTERN.test(value)) return LONE_SURROGATE;
  return null;
}

const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

type Frame = { kind: 'object'; keys: Set<string>; key: string } | { kind: 'array'; index: number };

/**
 * The first string (value or key) of a JSON text that holds a NUL or a lone surrogate, or the first
 * duplicate key. `text` must already have parsed as JSON: the walk relies on it being well-formed.
 */
export function findJsonFault(text: string): InputFault | null {
  const stack: Frame[] = [];
  let expectKey = false;
  const path = (frames: Frame[]) => ['body', ...frames.map((frame) => (frame.kind === 'object' ? pointerSegment(frame.key) : String(frame.index)))].join('/');
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (char === '{') {
      stack.push({ kind: 'object', keys: new Set(), key: '' });
      expectKey = true;
    } else if (char === '[') {
      stack.push({ kind: 'array', index: 0 });
      expectKey = false;
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    } else if (char === ':') {
      expectKey = false;
    } else if (char === '"') {
      let end = at + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const raw = text.slice(at, end + 1);
      // Only escapes can spell a NUL or a lone surrogate: raw control characters are not JSON, and
      // the UTF-8 decoding of the body leaves no unpaired surrogate.
      const value = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const top = stack.at(-1);
      if (expectKey && top?.kind === 'object') {
        const fault = stringFault(value);
        if (fault) return { path: path(stack.slice(0, -1)), message: `has a key that ${fault}` };
        top.key = value;
        if (top.keys.has(value)) return { path: path(stack), message: 'appears twice in its object (duplicate key)' };
        top.keys.add(value);
      } else {
        const fault = stringFault(value);
        if (fault) return { path: path(stack), message: fault };
      }
      at = end;
    }
  }
  return null;
}

const invalid = (fault: InputFault) => new AppError('validation', `${fault.path} ${fault.message}.`, { errors: [fault] });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The charset parameter of a Content-Type, lower-cased; null when there is none. */
function charsetOf(contentType: string | undefined): string | null {
  for (const parameter of (contentType ?? '').split(';').slice(1)) {
    const at = parameter.indexOf('=');
    if (at > 0 && parameter.slice(0, at).trim().toLowerCase() === 'charset') {
      return parameter.slice(at + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    }
  }
  return null;
}

type JsonParse = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/**
 * The `application/json` body parser, read as bytes: UTF-8 only (another charset is a 415, bytes
 * that are not UTF-8 a 400), then Fastify's own parse (malformed JSON, prototype poisoning), then
 * the string and duplicate-key checks above.
 */
export function strictJsonParser(parse: JsonParse) {
  return (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== null && charset !== 'utf-8') {
      return done(new AppError('unsupported-media-type', `JSON bodies are UTF-8: the charset "${charset.slice(0, 40)}" is not accepted.`));
    }
    let text: string;
    try {
      text = strictUtf8.decode(body);
    } catch {
      return done(new AppError('bad-request', 'The request body is not valid UTF-8.'));
    }
    parse(request, text, (error, value) => {
      if (error) return done(error);
      const fault = findJsonFault(text);
      return fault ? done(invalid(fault)) : done(null, value);
    });
  };
}

/** The first path parameter or query string name or value that cannot be stored, after percent-decoding. */
export function findUrlFault(url: string, params: Record<string, unknown>): InputFault | null {
  for (const [name, value] of Object.entries(params)) {
    const fault = typeof value === 'string' ? stringFault(value) : null;
    if (fault) return { path: `params/${pointerSegment(name)}`, message: fault };
  }
  const query = url.indexOf('?');
  if (query < 0) return null;
  for (const pair of url.slice(query + 1).split('&')) {
    const [rawName = '', rawValue = ''] = pair.split(/=(.*)/s);
    let name: string;
    let value: string;
    try {
      // An encoded lone surrogate (%ED%A0%80) is not UTF-8 either, so it fails here.
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      return { path: 'querystring', message: NOT_UTF8 };
    }
    if (name.includes('\u0000')) return { path: 'querystring', message: `has a parameter name that ${NUL}` };
    if (value.includes('\u0000')) return { path: `querystring/${pointerSegment(name)}`, message: NUL };
  }
  return null;
}

/** onRequest: the URL's parameters are checked before authentication or a handler uses them. */
export async function checkUrlInput(request: FastifyRequest) {
  const fault = findUrlFault(request.url, (request.params ?? {}) as Record<string, unknown>);
  if (fault) throw invalid(fault);
}
