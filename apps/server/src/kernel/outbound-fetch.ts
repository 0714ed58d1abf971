import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The one way the server calls a URL that someone configured (an identity provider's discovery,
 * JWKS and token endpoints): a server-side request forgery guard.
 * - https only, except for hosts in OUTBOUND_ALLOW_HOSTS;
 * - the host is resolved once and every address must be public unicast (no private, loopback,
 *   link-local, unique-local, CGNAT, multicast, unspecified or reserved address, in IPv4, IPv6 or
 *   IPv4-mapped form), except for allow-listed hosts;
 * - the connection goes to the address that was checked (no second lookup: DNS rebinding);
 * - redirects are never followed (a 3xx is an error: it could point anywhere);
 * - one deadline for the whole exchange and a cap on the response size.
 */
export type OutboundRefusal = 'scheme' | 'address' | 'redirect' | 'too_large' | 'timeout' | 'network';

export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundOptions {
  allowHosts: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string> | Headers;
  body?: string | URLSearchParams | Uint8Array | ArrayBuffer | null | undefined;
  signal?: AbortSignal | null | undefined;
}

export type OutboundFetch = (url: string | URL, init?: OutboundInit) => Promise<Response>;

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_BYTES = 1_048_576;
const NO_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Whether an address is one the public internet routes to (IPv4-mapped IPv6 judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

/** The host of a URL as compared with the allow-list: lower case, IPv6 without brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** Whether a URL may be called at all before resolving it: https, or an allow-listed host. */
export function checkScheme(url: URL, allowHosts: readonly string[]): void {
  const allowed = allowHosts.includes(hostOf(url));
  if (url.protocol === 'https:' || (url.protocol === 'http:' && allowed)) return;
  throw new OutboundError('scheme', `${url.protocol === 'http:' ? 'plain http' : url.protocol} is not allowed for ${url.host}: use https`);
}

async function resolve(host: string): Promise<{ address: string; family: number }[]> {
  if (isIP(host)) return [{ address: host, family: isIP(host) }];
  try {
    return await dns.lookup(host, { all: true, verbatim: true });
  } catch {
    throw new OutboundError('network', `${host} does not resolve`);
  }
}

function bodyOf(body: OutboundInit['body']): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function headersOf(headers: OutboundInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  return { ...headers };
}

export function createOutboundFetch(options: OutboundOptions): OutboundFetch {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const allowHosts = options.allowHosts.map((host) => host.toLowerCase());

  return async function outboundFetch(input, init = {}) {
    let url: URL;
    try {
      url = new URL(String(input));
    } catch {
      throw new OutboundError('scheme', 'not a URL');
    }
    checkScheme(url, allowHosts);
    const host = hostOf(url);
    const allowListed = allowHosts.includes(host);
    const addresses = await resolve(host);
    // Every address, not only the first: a name that also resolves inward is refused.
    if (!allowListed && (addresses.length === 0 || !addresses.every((entry) => isPublicAddress(entry.address)))) {
      throw new OutboundError('address', `${url.host} resolves to an address that is not public`);
    }
    const target = addresses[0]!;
    const body = bodyOf(init.body);
    const headers = { ...headersOf(init.headers), host: url.host, ...(body ? { 'content-length': String(body.length) } : {}) };
    const transport = url.protocol === 'https:' ? https : http;

    return new Promise<Response>((resolvePromise, reject) => {
      let settled = false;
      const fail = (error: OutboundError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        request.destroy();
        reject(error);
      };
      const onAbort = () => fail(new OutboundError('timeout', `${url.host} was abandoned by the caller`));
      const timer = setTimeout(() => fail(new OutboundError('timeout', `${url.host} did not answer within ${timeoutMs} ms`)), timeoutMs);
      const request = transport.request(
        {
          // The checked address itself: nothing is looked up again between the check and the connection.
          host: target.address,
          family: target.family,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          method: init.method ?? 'GET',
          headers,
          agent: false,
          // TLS: the certificate is checked against the name in the URL, which SNI also sends.
          ...(url.protocol === 'https:' && !isIP(host) ? { servername: host } : {}),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            fail(new OutboundError('redirect', `${url.host} answered with a redirect (${status}), which is not followed`));
            return;
          }
          const declared = Number(response.headers['content-length']);
          if (Number.isFinite(declared) && declared > maxBytes) {
            fail(new OutboundError('too_large', `${url.host} answered more than ${maxBytes} bytes`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) fail(new OutboundError('too_large', `${url.host} answered more than ${maxBytes} bytes`));
            else chunks.push(chunk);
          });
          response.on('error', () => fail(new OutboundError('network', `${url.host} closed the connection`)));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            init.signal?.removeEventListener('abort', onAbort);
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              for (const item of ([] as string[]).concat(value ?? [])) responseHeaders.append(name, item);
            }
            resolvePromise(new Response(NO_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
          });
        },
      );
      request.on('error', () => fail(new OutboundError('network', `${url.host} could not be reached`)));
      if (init.signal?.aborted) onAbort();
      else init.signal?.addEventListener('abort', onAbort, { once: true });
      request.end(body ?? undefined);
    });
  };
}
