/**
 * Input edge cases (CON-SEC-009): NUL characters, lone surrogates, duplicate JSON keys, numbers
 * for strings, charsets other than UTF-8, bytes that are not UTF-8, bad percent-encoding, and what
 * Node's HTTP parser refuses (headers too large, an over-long URL, a NUL in a header). Each case
 * goes to a few representative routes (a POST with a body, a GET with a query string, login) and
 * must get a 4xx problem naming the fault, never a 500, with nothing changed in the database.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { answerClientError } from '../src/kernel/http/problems.ts';
import { createLogger } from '../src/kernel/log.ts';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Problem {
  type: string;
  status: number;
  title: string;
  detail?: string;
  correlation_id: string;
  errors?: { path: string; message: string }[];
}

function assertProblem(answer: Answer, status: number, type: string): Problem {
  assert.equal(answer.status, status, answer.body);
  assert.equal(answer.headers['content-type'], PROBLEM_JSON, answer.body);
  const problem = JSON.parse(answer.body) as Problem;
  assert.equal(problem.type, type, answer.body);
  assert.equal(problem.status, status);
  assert.equal(problem.correlation_id, answer.headers['x-request-id']);
  return problem;
}

/** Sends raw bytes over a socket and reads the whole answer (the server closes the connection: errors, or `Connection: close`). */
async function rawRequest(port: number, request: Buffer | string): Promise<Answer> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.write(request);
  await new Promise((resolve) => socket.once('close', resolve));
  const text = Buffer.concat(chunks).toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4) };
}

describe('input edge cases are 4xx problems that change nothing (CON-SEC-009)', () => {
  let t: TestPlatform;
  let owner: Session;
  let port: number;
  let customersUrl: string;

  /** What a refused request must leave as it was. */
  async function snapshot() {
    const count = async (table: 'customers' | 'users' | 'sessions' | 'audit_events') =>
      Number((await t.db.owner.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { customers: await count('customers'), users: await count('users'), sessions: await count('sessions'), audit_events: await count('audit_events') };
  }

  async function send(input: { method: 'GET' | 'POST'; url: string; body?: string | Buffer; contentType?: string; auth?: boolean }): Promise<Answer> {
    const response = await t.app.inject({
      method: input.method,
      url: input.url,
      headers: { ...(input.auth ? owner.headers : {}), ...(input.body !== undefined ? { 'content-type': input.contentType ?? 'application/json' } : {}) },
      ...(input.body !== undefined ? { payload: input.body } : {}),
    });
    return { status: response.statusCode, headers: response.headers as Record<string, string>, body: response.body };
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    owner = await t.login('owner@acme.demo.test', 'acme');
    customersUrl = `/v1/tenants/${t.tenants.acme!.id}/customers`;
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await t?.close();
  });

  /** A representative route with a body: each case spells its fault into `field` of a valid body. */
  interface BodyRoute {
    name: string;
    url(): string;
    auth: boolean;
    ok: number;
    valid: Record<string, string>;
    field: string;
  }
  const bodyRoutes: BodyRoute[] = [
    { name: 'POST /customers', url: () => customersUrl, auth: true, ok: 201, valid: { name: 'Edge Case Ltd' }, field: 'name' },
    { name: 'POST /auth/login', url: () => '/v1/auth/login', auth: false, ok: 200, valid: { email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' }, field: 'tenant' },
  ];
  /** A body as raw JSON text: the valid fields, with `field` replaced by `rawValue` (JSON text). */
  const withField = (valid: Record<string, string>, field: string, rawValue: string) =>
    `{${Object.entries(valid)
      .map(([key, value]) => `"${key}":${key === field ? rawValue : JSON.stringify(value)}`)
      .join(',')}}`;

  const bodyCases: { name: string; body: (route: BodyRoute) => string | Buffer; contentType?: string; status: number; type: string; path?: string }[] = [
    { name: 'a NUL character (\\u0000) in a value', body: (r) => withField(r.valid, r.field, '"ac\\u0000me"'), status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'a NUL character in a key', body: (r) => `${JSON.stringify(r.valid).slice(0, -1)},"x\\u0000":"y"}`, status: 400, type: '/problems/validation', path: 'body' },
    { name: 'a lone high surrogate', body: (r) => withField(r.valid, r.field, '"ac\\ud800me"'), status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'a lone low surrogate', body: (r) => withField(r.valid, r.field, '"\\udc00acme"'), status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'a duplicate key (the last value would win)', body: (r) => `${withField(r.valid, r.field, '"other"').slice(0, -1)},"${r.field}":${JSON.stringify(r.valid[r.field])}}`, status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'a number for a string', body: (r) => withField(r.valid, r.field, '12345'), status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'a boolean for a string', body: (r) => withField(r.valid, r.field, 'true'), status: 400, type: '/problems/validation', path: 'body/FIELD' },
    { name: 'charset=utf-16 (the body would be read as UTF-8)', body: (r) => JSON.stringify(r.valid), contentType: 'application/json; charset=UTF-16', status: 415, type: '/problems/unsupported-media-type' },
    { name: 'charset=iso-8859-1', body: (r) => JSON.stringify(r.valid), contentType: 'application/json;charset="ISO-8859-1"', status: 415, type: '/problems/unsupported-media-type' },
    { name: 'bytes that are not UTF-8 (would be stored as U+FFFD)', body: (r) => Buffer.concat([Buffer.from(withField(r.valid, r.field, '"ac').slice(0, -1)), Buffer.from([0xff, 0xfe]), Buffer.from('me"}')]), status: 400, type: '/problems/bad-request' },
    { name: 'an encoded lone surrogate in UTF-8 (CESU-8)', body: (r) => Buffer.concat([Buffer.from(withField(r.valid, r.field, '"ac').slice(0, -1)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('me"}')]), status: 400, type: '/problems/bad-request' },
  ];

  for (const route of bodyRoutes) {
    describe(route.name, () => {
      test('the control case: a valid body, and charset=utf-8 in any case, is accepted', async () => {
        for (const contentType of ['application/json', 'application/json; charset=UTF-8', 'application/json; charset="utf-8"']) {
          const answer = await send({ method: 'POST', url: route.url(), body: JSON.stringify(route.valid), contentType, auth: route.auth });
          assert.equal(answer.status, route.ok, answer.body);
        }
      });

      for (const edge of bodyCases) {
        test(`${edge.name}: ${edge.status} ${edge.type}`, async () => {
          const before = await snapshot();
          const answer = await send({ method: 'POST', url: route.url(), body: edge.body(route), contentType: edge.contentType, auth: route.auth });
          const problem = assertProblem(answer, edge.status, edge.type);
          if (edge.path) assert.ok(problem.errors?.some((error) => error.path === edge.path!.replace('FIELD', route.field)), answer.body);
          assert.ok(problem.detail ?? problem.errors, 'the problem names the fault');
          assert.deepEqual(await snapshot(), before, 'nothing changed');
        });
      }
    });
  }

  describe('GET with a query string, and path parameters', () => {
    test('the control case: query numbers and booleans are still read from their text', async () => {
      const answer = await send({ method: 'GET', url: `${customersUrl}?limit=5&include_deleted=true&q=caf%C3%A9`, auth: true });
      assert.equal(answer.status, 200, answer.body);
    });

    const urlCases: { name: string; url: () => string; auth?: boolean; status: number; type: string; path?: string }[] = [
      { name: '%00 in a query value', url: () => `${customersUrl}?q=ac%00me`, auth: true, status: 400, type: '/problems/validation', path: 'querystring/q' },
      { name: '%00 in a query name', url: () => `${customersUrl}?q%00=acme`, auth: true, status: 400, type: '/problems/validation', path: 'querystring' },
      { name: 'an encoded lone surrogate (%ED%A0%80) in a query value', url: () => `${customersUrl}?q=%ED%A0%80`, auth: true, status: 400, type: '/problems/validation', path: 'querystring' },
      { name: 'percent-encoding that is not UTF-8 (%FF) in a query value', url: () => `${customersUrl}?q=%FF`, auth: true, status: 400, type: '/problems/validation', path: 'querystring' },
      { name: '%00 in the query of a public route', url: () => '/v1/auth/sso/acme?x=%00', status: 400, type: '/problems/validation', path: 'querystring/x' },
      { name: '%00 in a path parameter', url: () => '/v1/auth/sso/ac%00me', status: 400, type: '/problems/validation', path: 'params/tenantSlug' },
      { name: 'an encoded lone surrogate in a path parameter', url: () => '/v1/auth/sso/%ED%A0%80', status: 400, type: '/problems/bad-request' },
      { name: 'a query value over its maximum length in an 8 KiB URL', url: () => `${customersUrl}?q=${'a'.repeat(8_000)}`, auth: true, status: 400, type: '/problems/validation', path: 'querystring/q' },
    ];
    for (const edge of urlCases) {
      test(`${edge.name}: ${edge.status} ${edge.type}`, async () => {
        const before = await snapshot();
        const problem = assertProblem(await send({ method: 'GET', url: edge.url(), auth: edge.auth }), edge.status, edge.type);
        if (edge.path) assert.ok(problem.errors?.some((error) => error.path === edge.path), JSON.stringify(problem));
        assert.ok(problem.detail ?? problem.errors, 'the problem names the fault');
        assert.deepEqual(await snapshot(), before, 'nothing changed');
      });
    }
  });

  describe("what Node's HTTP parser refuses is a problem document too (a listening server)", () => {
    test('request header fields over the limit: 431 problem', async () => {
      const answer = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
      const problem = assertProblem(answer, 431, '/problems/header-too-large');
      assert.equal(problem.title, 'Request header fields too large');
      assert.equal(answer.headers.connection, 'close');
    });

    test('an over-long URL (20 KB): 431 problem', async () => {
      assertProblem(await rawRequest(port, `GET ${customersUrl}?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`), 431, '/problems/header-too-large');
    });

    test('a NUL in a header value, or a malformed request line: 400 problem', async () => {
      assertProblem(await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Test: a\u0000b\r\n\r\n'), 400, '/problems/bad-request');
      assertProblem(await rawRequest(port, 'NOT A REQUEST\r\n\r\n'), 400, '/problems/bad-request');
    });

    test('a request not received in time: 408 problem, and the connection closed', async () => {
      // Node checks request timeouts every 30 s: the answer is checked on the handler itself.
      const socket = new PassThrough();
      const written: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => written.push(chunk));
      // The handler closes the socket with the parser's error, as Node does.
      const closedWith = new Promise((resolve) => socket.once('error', resolve));
      answerClientError(createLogger('silent'), Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
      assert.equal(((await closedWith) as { code: string }).code, 'ERR_HTTP_REQUEST_TIMEOUT');
      assert.ok(socket.destroyed);
      const text = Buffer.concat(written).toString();
      assert.match(text, /^HTTP\/1.1 408 Request Timeout\r\n/);
      const problem = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Problem;
      assert.equal(problem.type, '/problems/request-timeout');
      assert.match(text, new RegExp(`X-Request-Id: ${problem.correlation_id}\r\n`));
    });

    test('a header value that is not UTF-8 is read as bytes (Latin-1) and signs in as usual', async () => {
      const body = JSON.stringify({ email: 'owner@acme.demo.test', password: TEST_PASSWORD, tenant: 'acme' });
      const request = Buffer.concat([
        Buffer.from(`POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nUser-Agent: agent `),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
        Buffer.from(`\r\n\r\n${body}`),
      ]);
      const answer = await rawRequest(port, request);
      assert.equal(answer.status, 200, answer.body);
      const session = await t.db.owner.selectFrom('sessions').select('user_agent').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      assert.equal(session.user_agent, 'agent \u00ff\u00fe\u00c3(');
    });
  });
});
