import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { buildTestPlatform, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { identityRoutes } from '../../modules/identity/index.ts';
import { loadConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { createHttpServer, type App } from './server.ts';
import { ipKey } from '../client-address.ts';
import { TenantConcurrency } from './rate-limit.ts';

type Response = Awaited<ReturnType<App['inject']>>;

function assertRateLimited(response: Response) {
  assert.equal(response.statusCode, 429, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(response.json().type, '/problems/rate-limited');
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${response.headers['retry-after']}`);
}

describe('client addresses', () => {
  test('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    assert.equal(ipKey('203.0.113.7'), '203.0.113.7');
    assert.equal(ipKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(ipKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(ipKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(ipKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(ipKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(ipKey('::1'), '0:0:0:0::/64');
  });
});

describe('per-tenant concurrency bound (FR-TEN-008)', () => {
  test('past the limit requests queue and take freed slots in order; other tenants do not wait', async () => {
    const bound = new TenantConcurrency(2, 5, 5_000);
    const first = await bound.acquire('a');
    const second = await bound.acquire('a');
    const order: number[] = [];
    const third = bound.acquire('a').then((release) => (order.push(3), release));
    const fourth = bound.acquire('a').then((release) => (order.push(4), release));
    assert.deepEqual(bound.load('a'), { active: 2, queued: 2 });
    // Another tenant is not behind tenant a's queue.
    const other = await bound.acquire('b');
    assert.deepEqual(bound.load('b'), { active: 1, queued: 0 });
    first();
    first(); // a second release of the same slot changes nothing
    const releaseThird = await third;
    assert.deepEqual(order, [3]);
    assert.deepEqual(bound.load('a'), { active: 2, queued: 1 });
    second();
    const releaseFourth = await fourth;
    assert.deepEqual(order, [3, 4]);
    releaseThird();
    releaseFourth();
    other();
    assert.deepEqual(bound.load('a'), { active: 0, queued: 0 });
    assert.deepEqual(bound.load('b'), { active: 0, queued: 0 });
  });

  test('a full queue, and a wait past the timeout, are 429 tenant-busy', async () => {
    const bound = new TenantConcurrency(1, 1, 50);
    const held = await bound.acquire('a');
    const waiting = bound.acquire('a');
    await assert.rejects(bound.acquire('a'), (error: unknown) => error instanceof AppError && error.code === 'tenant-busy' && error.status === 429);
    await assert.rejects(waiting, (error: unknown) => error instanceof AppError && error.code === 'tenant-busy');
    assert.deepEqual(bound.load('a'), { active: 1, queued: 0 });
    held();
    assert.deepEqual(bound.load('a'), { active: 0, queued: 0 });
  });
});

describe('rate limits over HTTP (FR-RATE-001, FR-AUD-006)', () => {
  let t: TestPlatform;
  let acmeOwner: Session;
  let acmeMember: Session;
  let globexOwner: Session;
  const servers: App[] = [];
  const log = createLogger('silent');

  /**
   * A kernel-only server on the test platform's database and tokens, limits on, with probe routes
   * of its own. Each server counts in its own memory, so the tests do not share budgets.
   */
  async function server(env: Record<string, string>, extra?: (app: App) => void, redis?: Redis): Promise<App> {
    const config = loadConfig({
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: t.config.dataDir,
      PUBLIC_URL: t.config.publicUrl,
      RATE_LIMIT_ENABLED: 'true',
      ...env,
    });
    const platform = t.running.platform;
    const { app } = await createHttpServer(config, log, { db: t.db, tokens: platform.tokens, sessions: platform.sessions, redis: redis ?? null });
    const declared = { requirements: ['FR-RATE-001'] };
    app.get('/v1/rl/me', { config: { ...declared, access: 'authenticated' } }, async (request) => ({ user: request.ctx.actor!.userId }));
    app.get('/v1/rl/open', { config: { ...declared, access: 'public' } }, async () => ({ ok: true }));
    app.get('/healthz', { config: { ...declared, access: 'public' } }, async () => ({ status: 'ok' }));
    app.get('/v1/tenants/:tenantId/rl', { config: { ...declared, access: 'customers.read' } }, async () => ({ ok: true }));
    extra?.(app);
    await app.ready();
    servers.push(app);
    return app;
  }

  async function securityEvents(where: { tenantId: string | null; actorId?: string; ip?: string }) {
    let query = t.db.owner
      .selectFrom('audit_events')
      .select(['metadata', 'actor_id', 'ip', 'severity', 'outcome'])
      .where('action', '=', 'security.rate_limited')
      .where('category', '=', 'security');
    query = where.tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', where.tenantId);
    if (where.actorId) query = query.where('actor_id', '=', where.actorId);
    if (where.ip) query = query.where('ip', '=', where.ip);
    return query.execute();
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    acmeMember = await t.login('member@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
  });
  after(async () => {
    for (const app of servers) await app.close().catch(() => undefined);
    await t?.close();
  });

  test('the defaults are the requirement\'s: 60/min/user, 300/min/tenant with 2x burst for 60 s, login 10/min/IP; off only in tests', () => {
    const { rateLimits } = loadConfig({ ENVIRONMENT: 'production', DATABASE_URL: 'postgres://x@db/x', SIGNING_KEY: '{}' });
    assert.equal(rateLimits.enabled, true);
    assert.equal(rateLimits.userPerMinute, 60);
    assert.equal(rateLimits.tenantPerMinute, 300);
    assert.equal(rateLimits.tenantBurst, 300);
    assert.equal(rateLimits.loginPerMinute, 10);
    assert.equal(loadConfig({ ENVIRONMENT: 'test' }).rateLimits.enabled, false);
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, not-an-address' }), /TRUSTED_PROXIES/);
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32, loopback' }).trustedProxies, ['10.0.0.0/8', '2001:db8::/32', 'loopback']);
  });

  test('per user: RateLimit headers count down, then 429 with Retry-After, one security event per window', async () => {
    const app = await server({ RATE_LIMIT_USER_PER_MINUTE: '3', RATE_LIMIT_TENANT_PER_MINUTE: '100' });
    const me = (session: Session) => app.inject({ method: 'GET', url: '/v1/rl/me', headers: session.headers });
    const owner = (await me(acmeOwner)).json().user as string;
    const before = (await securityEvents({ tenantId: t.tenants.acme!.id, actorId: owner })).length;

    const remaining: string[] = [];
    // The first request above went through already: two more fit.
    for (let i = 0; i < 2; i++) {
      const response = await me(acmeOwner);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['ratelimit-limit'], '3');
      const reset = Number(response.headers['ratelimit-reset']);
      assert.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset}`);
      remaining.push(String(response.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['1', '0']);
    for (let i = 0; i < 3; i++) {
      const refused = await me(acmeOwner);
      assertRateLimited(refused);
      assert.equal(refused.headers['ratelimit-remaining'], '0');
    }
    const events = await securityEvents({ tenantId: t.tenants.acme!.id, actorId: owner });
    assert.equal(events.length, before + 1, 'three refusals in one window are one security event');
    assert.equal(events.at(-1)!.metadata.limit, 'user');
    assert.equal(events.at(-1)!.outcome, 'denied');

    // Another user of the same tenant has a budget of its own.
    assert.equal((await me(acmeMember)).statusCode, 200);
  });

  test('per tenant: past its per-minute limit a tenant draws on its burst, then gets 429; other tenants are untouched', async () => {
    const app = await server({ RATE_LIMIT_USER_PER_MINUTE: '100', RATE_LIMIT_TENANT_PER_MINUTE: '4', RATE_LIMIT_TENANT_BURST: '2' });
    const acme = t.tenants.acme!.id;
    const read = (session: Session, tenantId: string) => app.inject({ method: 'GET', url: `/v1/tenants/${tenantId}/rl`, headers: session.headers });
    const before = (await securityEvents({ tenantId: acme })).filter((e) => e.metadata.limit === 'tenant').length;

    const limits: string[] = [];
    for (const session of [acmeOwner, acmeMember, acmeOwner, acmeMember, acmeOwner, acmeMember]) {
      const response = await read(session, acme);
      assert.equal(response.statusCode, 200, response.body);
      limits.push(String(response.headers['ratelimit-limit']));
    }
    // Four from the per-minute budget, two from the burst bucket.
    assert.deepEqual(limits, ['4', '4', '4', '4', '2', '2']);
    assertRateLimited(await read(acmeMember, acme));
    assertRateLimited(await read(acmeOwner, acme));
    const events = (await securityEvents({ tenantId: acme })).filter((e) => e.metadata.limit === 'tenant');
    assert.equal(events.length, before + 1);

    const globex = await read(globexOwner, t.tenants.globex!.id);
    assert.equal(globex.statusCode, 200, globex.body);
    assert.equal(globex.headers['ratelimit-remaining'], '3');
  });

  test('per IP for unauthenticated routes; a forged X-Forwarded-For does not open a new bucket; probes are exempt', async () => {
    const app = await server({ RATE_LIMIT_IP_PER_MINUTE: '2' });
    const open = (remoteAddress: string, forwarded?: string) =>
      app.inject({ method: 'GET', url: '/v1/rl/open', remoteAddress, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} });
    assert.equal((await open('203.0.113.10')).statusCode, 200);
    assert.equal((await open('203.0.113.10', '198.51.100.1')).statusCode, 200);
    for (const forged of ['198.51.100.2', '198.51.100.3, 198.51.100.4', undefined]) assertRateLimited(await open('203.0.113.10', forged));
    assert.equal((await open('203.0.113.11')).statusCode, 200, 'another address has its own budget');

    const events = await securityEvents({ tenantId: null, ip: '203.0.113.10' });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.metadata.limit, 'ip');

    for (let i = 0; i < 5; i++) {
      const probe = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.10' });
      assert.equal(probe.statusCode, 200);
      assert.equal(probe.headers['ratelimit-limit'], undefined);
    }
  });

  test('behind a trusted proxy the client is the last untrusted address of X-Forwarded-For', async () => {
    const app = await server(
      { TRUSTED_PROXIES: '10.0.0.0/8' },
      (instance) => instance.get('/v1/rl/once', { config: { access: 'public', requirements: ['FR-RATE-001'], rateLimit: { perIp: { points: 1, durationSec: 60 } } } }, async () => ({ ok: true })),
    );
    const once = (remoteAddress: string, forwarded: string) => app.inject({ method: 'GET', url: '/v1/rl/once', remoteAddress, headers: { 'x-forwarded-for': forwarded } });
    assert.equal((await once('10.1.2.3', '198.51.100.20')).statusCode, 200);
    assertRateLimited(await once('10.9.9.9', '198.51.100.20'));
    // Entries left of the client address are the client's own words: forging them changes nothing.
    assertRateLimited(await once('10.1.2.3', '192.0.2.1, 198.51.100.20'));
    assert.equal((await once('10.1.2.3', '198.51.100.21')).statusCode, 200, 'another client behind the proxy');
    // Not from the proxy: the header is ignored and the socket address counts.
    assert.equal((await once('203.0.113.30', '198.51.100.22')).statusCode, 200);
    assertRateLimited(await once('203.0.113.30', '198.51.100.23'));
  });

  test('sign-in is limited per IP by RATE_LIMIT_LOGIN_PER_MINUTE before the password is checked', async () => {
    const platform = t.running.platform;
    const app = await server({ RATE_LIMIT_LOGIN_PER_MINUTE: '2', RATE_LIMIT_IP_PER_MINUTE: '100' }, (instance) =>
      identityRoutes(instance, t.running.services.identity, () => platform.tokens.jwks()),
    );
    const login = (remoteAddress: string, password: string) =>
      app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { email: 'member@acme.demo.test', password, tenant: 'acme' } });
    assert.equal((await login('203.0.113.40', 'wrong-password-1')).statusCode, 401);
    assert.equal((await login('203.0.113.40', 'wrong-password-2')).statusCode, 401);
    assertRateLimited(await login('203.0.113.40', TEST_PASSWORD));
    assert.equal((await login('203.0.113.41', TEST_PASSWORD)).statusCode, 200, 'another address signs in');
    // Sign-in has a bucket of its own: the address's other public requests go on.
    assert.equal((await app.inject({ method: 'GET', url: '/v1/rl/open', remoteAddress: '203.0.113.40' })).statusCode, 200);
  });

  test('an address that keeps failing authentication is refused before its tokens are checked', async () => {
    const app = await server({ RATE_LIMIT_IP_PER_MINUTE: '2' });
    const me = (remoteAddress: string, authorization: string) => app.inject({ method: 'GET', url: '/v1/rl/me', remoteAddress, headers: { authorization } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await me('203.0.113.50', `Bearer forged.token.${i}`)).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    assertRateLimited(await me('203.0.113.50', 'Bearer forged.token.x'));
    assert.equal((await me('203.0.113.51', acmeOwner.headers.authorization)).statusCode, 200);
    const events = await securityEvents({ tenantId: null, ip: '203.0.113.50' });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.metadata.reason, 'failed_authentication');
  });

  test('routes may set their own per-user limit (a bucket of its own) or skip limits', async () => {
    const app = await server({ RATE_LIMIT_USER_PER_MINUTE: '100' }, (instance) => {
      instance.post('/v1/rl/expensive', { config: { access: 'authenticated', requirements: ['FR-RATE-001'], rateLimit: { perUser: { points: 1, durationSec: 60 } } } }, async () => ({ ok: true }));
      instance.get('/v1/rl/free', { config: { access: 'authenticated', requirements: ['FR-RATE-001'], rateLimit: { skip: true } } }, async () => ({ ok: true }));
    });
    const expensive = () => app.inject({ method: 'POST', url: '/v1/rl/expensive', headers: globexOwner.headers });
    assert.equal((await expensive()).statusCode, 200);
    assertRateLimited(await expensive());
    assert.equal((await app.inject({ method: 'GET', url: '/v1/rl/me', headers: globexOwner.headers })).statusCode, 200);
    for (let i = 0; i < 3; i++) {
      const free = await app.inject({ method: 'GET', url: '/v1/rl/free', headers: globexOwner.headers });
      assert.equal(free.statusCode, 200);
      assert.equal(free.headers['ratelimit-limit'], undefined);
    }
  });

  test('a route with a malformed limit stops the server from starting', async () => {
    await assert.rejects(
      server({}, (instance) => instance.get('/v1/rl/bad', { config: { access: 'public', requirements: ['FR-RATE-001'], rateLimit: { perIp: { points: 0, durationSec: 60 } } } }, async () => ({}))),
      /rateLimit needs whole, positive points/,
    );
    await assert.rejects(
      server({}, (instance) => instance.get('/v1/rl/bad', { config: { access: 'public', requirements: ['FR-RATE-001'], rateLimit: { perIp: 'nonsense' as 'login' } } }, async () => ({}))),
      /unknown named rate limit/,
    );
  });

  test('with Redis unreachable the limits still hold, from each node\'s memory (insurance)', async () => {
    // Nothing listens on port 1; the client never connects.
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    unreachable.on('error', () => undefined);
    try {
      const app = await server({ RATE_LIMIT_USER_PER_MINUTE: '2', RATE_LIMIT_TENANT_PER_MINUTE: '100' }, undefined, unreachable);
      const me = () => app.inject({ method: 'GET', url: '/v1/rl/me', headers: globexOwner.headers });
      assert.equal((await me()).statusCode, 200);
      assert.equal((await me()).statusCode, 200);
      assertRateLimited(await me());
    } finally {
      unreachable.disconnect();
    }
  });
});
