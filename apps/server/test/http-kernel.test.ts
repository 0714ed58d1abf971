import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig, type Config } from '../src/kernel/config.ts';
import { AppError } from '../src/kernel/errors.ts';
import type { GuardDependencies } from '../src/kernel/http/guard.ts';
import { createHttpServer, type App } from '../src/kernel/http/server.ts';
import { createLogger } from '../src/kernel/log.ts';
import { buildTestPlatform, type Session, type TestPlatform } from './helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM_JSON = 'application/problem+json; charset=utf-8';
/** Declared like any real route: the kernel refuses routes that declare nothing. */
const TEST_ROUTE = { config: { access: 'public' as const, requirements: ['CON-SEC-009'] } };

type ProblemBody = { type: string; title: string; status: number; detail?: string; instance?: string; correlation_id: string; errors?: unknown[] };

/**
 * CON-SEC-009: a problem says what went wrong for the client, never how the server is built.
 * The instance (the request path) is the client's own input and is left out of the check.
 */
const LEAKS: [RegExp, string][] = [
  [/stack/i, 'a stack'],
  [/\bat \S+ \(?.*:\d+:\d+/, 'a stack frame'],
  [/\.ts\b|node_modules/, 'a source path'],
  [/\bselect\b|\binsert into\b|\bwhere\b|\bfrom users\b/i, 'SQL'],
  [/duplicate key|violates|constraint|relation "|syntax for type|does not exist/i, 'a database message'],
  // Table and role names, but not permission names such as platform.tenants.read.
  [/(?<![.\w])(users|tenants|sessions|refresh_tokens|audit_events|audit_chain_heads|dev_mailbox|password_hash|tsv_app|tsv_platform)(?![.\w])/, 'an internal name'],
];
function assertNoLeak(problem: ProblemBody) {
  const { instance: _instance, ...rest } = problem;
  const text = JSON.stringify(rest);
  for (const [pattern, what] of LEAKS) assert.ok(!pattern.test(text), `problem reveals ${what}: ${text}`);
}

/** Asserts an RFC 7807 response and returns its body. */
function problem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown; body: string }, status: number, type: string): ProblemBody {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], PROBLEM_JSON);
  const body = response.json() as ProblemBody;
  assert.equal(body.type, type);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(body.correlation_id, response.headers['x-request-id']);
  assertNoLeak(body);
  return body;
}

describe('HTTP kernel (CON-SEC-009, FR-RBAC-004, CON-ARCH-004, NFR-OBS-001, FR-SYS-005)', () => {
  let t: TestPlatform;
  let owner: Session;
  let deps: GuardDependencies;
  const log = createLogger('silent');
  const bare: App[] = [];

  /** A kernel-only server on the test platform's database, for routes the platform does not have. */
  async function bareServer(env: Record<string, string> = {}): Promise<{ app: App; config: Config }> {
    const config = loadConfig({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', DATA_DIR: t.config.dataDir, PUBLIC_URL: t.config.publicUrl, ...env });
    const { app } = await createHttpServer(config, log, deps);
    bare.push(app);
    return { app, config };
  }

  before(async () => {
    // A small body limit, so that the 413 needs only a small body.
    t = await buildTestPlatform({ BODY_LIMIT_BYTES: '2048' }, { worker: false });
    owner = await t.login('owner@acme.demo.test', 'acme');
    deps = { db: t.db, tokens: t.running.platform.tokens, sessions: t.running.platform.sessions };
  });
  after(async () => {
    for (const app of bare) await app.close().catch(() => undefined);
    await t?.close();
  });

  describe('errors are RFC 7807 problems', () => {
    test('an unknown route is a 404 problem', async () => {
      for (const url of ['/v1/no-such-thing', '/v1/tenants/x/unknown', '/.well-known/nothing']) {
        const body = problem(await t.app.inject({ method: 'GET', url }), 404, '/problems/not-found');
        assert.equal(body.instance, url);
      }
      problem(await t.app.inject({ method: 'DELETE', url: '/v1/me', headers: owner.headers }), 404, '/problems/not-found');
    });

    test('malformed JSON is a 400 problem', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email": "a@b.c", ' });
      problem(response, 400, '/problems/bad-request');
      const empty = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '' });
      problem(empty, 400, '/problems/bad-request');
    });

    test('a schema violation is a 400 problem listing every error with its path', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'x', extra: true } });
      const body = problem(response, 400, '/problems/validation');
      assert.ok(Array.isArray(body.errors) && body.errors.length >= 2, response.body);
      for (const error of body.errors as { path: unknown; message: unknown }[]) {
        assert.equal(typeof error.path, 'string');
        assert.equal(typeof error.message, 'string');
      }
      const paths = (body.errors as { path: string }[]).map((error) => error.path);
      assert.ok(paths.some((path) => path.startsWith('body')), paths.join());

      const query = await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.acme!.id}/customers?limit=0`, headers: owner.headers });
      assert.ok((problem(query, 400, '/problems/validation').errors as { path: string }[]).some((error) => error.path.startsWith('querystring')));
    });

    test('a body over BODY_LIMIT_BYTES is a 413 problem; one under it is read', async () => {
      const big = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@b.c', password: 'x'.repeat(2_100) } });
      problem(big, 413, '/problems/payload-too-large');
      // Just under the limit is read and judged on its merits.
      const fits = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'nobody@acme.demo.test', password: 'x'.repeat(1_000), tenant: 'acme' } });
      assert.equal(fits.statusCode, 401, fits.body);
    });

    test('a text/plain body on a JSON route is a 415 problem', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'email=a@b.c' });
      problem(response, 415, '/problems/unsupported-media-type');
    });

    test('authentication and authorization failures are problems too', async () => {
      problem(await t.app.inject({ method: 'GET', url: '/v1/me' }), 401, '/problems/unauthorized');
      problem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer not.a.token' } }), 401, '/problems/unauthorized');
      problem(await t.app.inject({ method: 'GET', url: '/v1/platform/tenants', headers: owner.headers }), 403, '/problems/forbidden');
      problem(
        await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.globex!.id}/customers`, headers: owner.headers }),
        403,
        '/problems/tenant-mismatch',
      );
    });
  });

  describe('correlation ids', () => {
    test('an incoming X-Request-Id is echoed in the response header and in the problem', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/v1/missing', headers: { 'x-request-id': 'client-req-42.a:b' } });
      assert.equal(response.headers['x-request-id'], 'client-req-42.a:b');
      assert.equal(problem(response, 404, '/problems/not-found').correlation_id, 'client-req-42.a:b');
      const ok = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'health-1' } });
      assert.equal(ok.headers['x-request-id'], 'health-1', 'successful responses carry it too');
    });

    test('a missing X-Request-Id is generated as a UUID; an unsafe one is replaced', async () => {
      const missing = await t.app.inject({ method: 'GET', url: '/v1/missing' });
      assert.match(String(missing.headers['x-request-id']), UUID);
      assert.equal(missing.json().correlation_id, missing.headers['x-request-id']);
      // Header values end up in logs and audit rows: anything unusual is not trusted.
      for (const unsafe of ['has spaces in it', 'x'.repeat(129), '<script>']) {
        const response = await t.app.inject({ method: 'GET', url: '/v1/missing', headers: { 'x-request-id': unsafe } });
        assert.match(String(response.headers['x-request-id']), UUID, unsafe);
      }
    });

    test('the correlation id of a request is the one in its audit events', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'x-request-id': 'audited-login-1' }, payload: { email: 'owner@acme.demo.test', password: 'Wrong-Passw0rd!', tenant: 'acme' } });
      assert.equal(response.statusCode, 401);
      const events = await t.db.owner.selectFrom('audit_events').select('action').where('correlation_id', '=', 'audited-login-1').execute();
      assert.deepEqual(events, [{ action: 'auth.login' }]);
    });
  });

  describe('nothing internal leaks', () => {
    test('database and unexpected errors become generic problems without SQL, names or stacks', async () => {
      const { app } = await bareServer();
      // Real errors from the database in use (PGlite or PostgreSQL), and thrown ones that quote internals.
      app.get('/v1/test/bad-uuid', TEST_ROUTE, async () => t.db.withPlatform((tx) => sql`select id from users where id = ${'not-a-uuid'}::uuid`.execute(tx)));
      app.get('/v1/test/duplicate', TEST_ROUTE, async () =>
        t.db.withPlatform((tx) => tx.insertInto('tenants').values({ name: 'Dup', slug: 'acme', region: 'US' }).execute()),
      );
      app.get('/v1/test/no-table', TEST_ROUTE, async () => t.db.withPlatform((tx) => sql`select * from secret_internal_table`.execute(tx)));
      app.get('/v1/test/rls', TEST_ROUTE, async () =>
        t.db.withWholeTenant(t.tenants.acme!.id, (tx) => tx.insertInto('customers').values({ tenant_id: t.tenants.globex!.id, name: 'Smuggled' }).execute()),
      );
      app.get('/v1/test/throws', TEST_ROUTE, async () => {
        throw new Error('select password_hash from users where email = $1 failed at tenants.ts:12:3');
      });
      app.get('/v1/test/app-error', TEST_ROUTE, async () => {
        throw new AppError('conflict', 'That name is taken.');
      });
      await app.ready();

      problem(await app.inject({ method: 'GET', url: '/v1/test/bad-uuid' }), 400, '/problems/validation');
      problem(await app.inject({ method: 'GET', url: '/v1/test/duplicate' }), 409, '/problems/conflict');
      problem(await app.inject({ method: 'GET', url: '/v1/test/rls' }), 403, '/problems/forbidden');
      const internal = problem(await app.inject({ method: 'GET', url: '/v1/test/no-table' }), 500, '/problems/internal');
      assert.equal(internal.detail, undefined);
      const thrown = problem(await app.inject({ method: 'GET', url: '/v1/test/throws' }), 500, '/problems/internal');
      assert.deepEqual(Object.keys(thrown).sort(), ['correlation_id', 'instance', 'status', 'title', 'type']);
      // A deliberate AppError keeps its (client-facing) detail.
      assert.equal(problem(await app.inject({ method: 'GET', url: '/v1/test/app-error' }), 409, '/problems/conflict').detail, 'That name is taken.');
    });

    test('platform problems seen by clients reveal nothing internal', async () => {
      const operator = await t.login('operator@demo.test');
      const responses = [
        await t.app.inject({ method: 'POST', url: '/v1/platform/tenants', headers: operator.headers, payload: { name: 'A', slug: 'acme', region: 'US', owner: { email: 'o@a.example' } } }),
        await t.app.inject({ method: 'GET', url: '/v1/platform/tenants/not-a-uuid', headers: operator.headers }),
        await t.app.inject({ method: 'GET', url: '/v1/platform/tenants?cursor=%7B%7D', headers: operator.headers }),
        await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: `${t.tenants.acme!.id}.${'z'.repeat(43)}` } }),
      ];
      for (const response of responses) {
        assert.ok(response.statusCode >= 400, response.body);
        assert.equal(response.headers['content-type'], PROBLEM_JSON);
        assertNoLeak(response.json());
      }
    });
  });

  describe('every route declares its access (FR-RBAC-004)', () => {
    test('every entry of the route table has access and requirement ids', () => {
      assert.ok(t.running.routes.length > 10);
      for (const route of t.running.routes) {
        assert.ok(route.access, `${route.method} ${route.url} has no access`);
        assert.ok(Array.isArray(route.requirements) && route.requirements.length > 0, `${route.method} ${route.url} has no requirements`);
      }
      assert.ok(t.running.routes.some((route) => route.url === '/v1/auth/login' && route.access === 'public'));
      assert.ok(t.running.routes.some((route) => route.url === '/v1/platform/tenants' && route.access === 'platform.tenants.write'));
    });

    test('every operation in the OpenAPI document has a unique operationId, x-permission and x-requirements', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
      assert.equal(response.statusCode, 200);
      const document = response.json() as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
      assert.equal(document.openapi, '3.1.0');
      let operations = 0;
      const operationIds = new Map<string, string>();
      for (const [path, item] of Object.entries(document.paths)) {
        assert.ok(path.startsWith('/v1/') || path.startsWith('/.well-known/') || path === '/healthz' || path === '/readyz', path);
        for (const [method, operation] of Object.entries(item)) {
          if (!['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method)) continue;
          operations++;
          const where = `${method.toUpperCase()} ${path}`;
          const operationId = operation.operationId as string;
          assert.match(operationId, /^[a-z][A-Za-z0-9]+$/, `${where} has no operationId`);
          assert.equal(operationIds.get(operationId), undefined, `${where} and ${operationIds.get(operationId)} share the operationId ${operationId}`);
          operationIds.set(operationId, where);
          assert.equal(typeof operation['x-permission'], 'string', `${where} has no x-permission`);
          assert.ok(Array.isArray(operation['x-requirements']) && (operation['x-requirements'] as unknown[]).length > 0, `${where} has no x-requirements`);
        }
      }
      assert.ok(operations >= 10, `only ${operations} operations documented`);
      assert.equal(operationIds.get('getTenantsCustomersById'), 'GET /v1/tenants/{tenantId}/customers/{id}');
      assert.equal(operationIds.get('postAuthLogin'), 'POST /v1/auth/login');
    });

    test('the server refuses to start with a route that declares no access, no requirements or an unknown permission', async () => {
      const cases: { name: string; url: string; config?: Record<string, unknown>; message: RegExp }[] = [
        { name: 'no declaration at all', url: '/v1/undeclared', message: /GET \/v1\/undeclared declares no access/ },
        { name: 'access without requirements', url: '/v1/no-requirements', config: { access: 'authenticated' }, message: /\/v1\/no-requirements declares no valid requirement IDs/ },
        { name: 'an unknown permission', url: '/v1/unknown-permission', config: { access: 'customers.everything', requirements: ['CON-SEC-009'] }, message: /\/v1\/unknown-permission declares unknown permission/ },
        { name: 'a tenant route open to any signed-in user', url: '/v1/tenants/:tenantId/loose', config: { access: 'authenticated', requirements: ['CON-SEC-009'] }, message: /\/v1\/tenants\/:tenantId\/loose: a tenant route must declare a permission/ },
      ];
      for (const { name, url, config, message } of cases) {
        const { app } = await bareServer();
        await assert.rejects(
          async () => {
            // Depending on when Fastify runs the onRoute hook, the route call or ready() throws.
            app.get(url, config ? { config: config as never } : {}, async () => 'should never be served');
            await app.ready();
          },
          (error: unknown) => error instanceof Error && message.test(error.message),
          name,
        );
      }
    });
  });

  test('a handler exceeding REQUEST_TIMEOUT_MS gets a 503 timeout problem, not a hung client', async () => {
    const { app, config } = await bareServer({ REQUEST_TIMEOUT_MS: '200' });
    assert.equal(config.requestTimeoutMs, 200);
    app.get('/v1/test/slow', TEST_ROUTE, async () => {
      await sleep(1_000);
      return { late: true };
    });
    app.get('/v1/test/quick', TEST_ROUTE, async () => ({ quick: true }));
    await app.ready();

    const started = performance.now();
    const response = await app.inject({ method: 'GET', url: '/v1/test/slow' });
    const elapsed = performance.now() - started;
    problem(response, 503, '/problems/timeout');
    assert.ok(elapsed >= 190 && elapsed < 900, `answered after ${elapsed.toFixed(0)} ms`);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/test/quick' })).json(), { quick: true });
  });

  test('every response carries the hardening headers', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
  });

  test('/healthz is 200, /readyz is 200 with the database and migrations ok', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok' } });
  });
});
