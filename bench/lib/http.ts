/** Small HTTP helpers of the suites. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

export const postJson = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Listens on a free port of 127.0.0.1 and returns the server's URL. */
export async function listen(server: Pick<FastifyInstance, 'listen' | 'server'>): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
}

/** Throws unless the request answers 200: a path is checked before it is timed. */
export async function expectOk(url: string, init: RequestInit, what: string): Promise<void> {
  const response = await fetch(url, init);
  if (response.status !== 200) throw new Error(`${what}: ${response.status} ${await response.text()}`);
}
