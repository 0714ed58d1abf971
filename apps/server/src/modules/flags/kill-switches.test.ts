import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { AppError } from '../../kernel/errors.ts';
import { handleError } from '../../kernel/http/problems.ts';
import { createJobQueue, prepareJobQueue, type JobDefinition, type TenantJobData } from '../../kernel/jobs/jobs.ts';
import { createLogger } from '../../kernel/log.ts';
import { startPlatform, type Running } from '../../start.ts';
import { FlagCache, switchKey, type FlagSnapshot, type TrippedSwitch } from './flag-cache.ts';
import { applyJobSwitches, switchedJob } from '../../kernel/switches.ts';
import { KillSwitches } from './kill-switches.ts';

const ACME = '11111111-1111-4111-8111-111111111111';
const GLOBEX = '22222222-2222-4222-8222-222222222222';

function fixedSource(switches: TrippedSwitch[], loadedAt = Date.now()) {
  const switchIndex = new Map<string, TrippedSwitch[]>();
  for (const s of switches) switchIndex.set(switchKey(s.name, s.tenantId), [...(switchIndex.get(switchKey(s.name, s.tenantId)) ?? []), s]);
  const snapshot: FlagSnapshot = { definitions: [], switches, switchIndex, loadedAt };
  return { snapshot: () => snapshot, ttlMs: 5_000 };
}

describe('kill switch checks (pure)', () => {
  test('global, per tenant and per channel', () => {
    const switches = new KillSwitches(
      fixedSource([
        { name: 'ai', tenantId: null, channel: null },
        { name: 'messaging', tenantId: ACME, channel: 'sms' },
        { name: 'exports', tenantId: ACME, channel: null },
      ]),
    );
    assert.equal(switches.isOpen('ai', { tenantId: GLOBEX }), false, 'a global switch stops every tenant');
    assert.equal(switches.isOpen('ai'), false, 'and actions of no tenant');
    assert.equal(switches.isOpen('exports', { tenantId: ACME }), false);
    assert.equal(switches.isOpen('exports', { tenantId: GLOBEX }), true, "acme's switch is acme's alone");
    assert.equal(switches.isOpen('exports'), true);
    assert.equal(switches.isOpen('messaging', { tenantId: ACME, channel: 'sms' }), false);
    assert.equal(switches.isOpen('messaging', { tenantId: ACME, channel: 'email' }), true, 'another channel still works');
    assert.equal(switches.isOpen('messaging', { tenantId: GLOBEX, channel: 'sms' }), true);
    assert.equal(switches.isOpen('sync', { tenantId: ACME }), true);
  });

  test('assertOpen throws the 503 problem with the switch name; a stale copy fails closed', () => {
    const switches = new KillSwitches(fixedSource([{ name: 'messaging', tenantId: ACME, channel: null }]));
    assert.throws(
      () => switches.assertOpen('messaging', { tenantId: ACME, channel: 'email' }),
      (error: AppError) => error.code === 'switched-off' && error.status === 503 && error.extra?.switch === 'messaging' && error.extra.scope === 'tenant',
    );
    assert.doesNotThrow(() => switches.assertOpen('messaging', { tenantId: GLOBEX }));
    // The database has been unreachable for a minute: nothing can be confirmed.
    const stale = new KillSwitches(fixedSource([], Date.now() - 60_000));
    assert.throws(() => stale.assertOpen('sync', { tenantId: ACME }), (error: AppError) => error.code === 'switched-off' && error.extra?.scope === 'unconfirmed');
  });
});

/**
 * FR-FLAG-003, CON-ARCH-005: a switch tripped through one API node stops the action on every API
 * and worker node within 2 s, although each node trusts its copy for FLAG_CACHE_TTL_MS (5 s): the
 * NOTIFY does it. A copy with the listener disabled shows the difference.
 */
const PROPAGATION_LIMIT_MS = 2_000;

describe('kill switches across API nodes and a worker', () => {
  let t: TestPlatform;
  let nodeB: Running;
  let worker: Running;
  let operator: Session;
  let acmeOwner: Session;
  let acme: string;
  let globex: string;

  const trip = (payload: object, on = t.app) => on.inject({ method: 'POST', url: '/v1/platform/kill-switches/trip', headers: operator.headers, payload });
  const reset = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/platform/kill-switches/reset', headers: operator.headers, payload });

  /** Polls until check() holds; returns the ms since `since`, failing past the limit. */
  async function propagation(check: () => boolean | Promise<boolean>, since: number, limit = PROPAGATION_LIMIT_MS): Promise<number> {
    for (;;) {
      const elapsed = performance.now() - since;
      if (await check()) return elapsed;
      assert.ok(elapsed < limit, `not seen after ${elapsed.toFixed(0)} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    const log = createLogger(t.config.logLevel);
    // Same configuration and database, their own caches and (on PostgreSQL) their own LISTEN connections.
    nodeB = await startPlatform(t.config, log, { api: true, worker: false, db: t.db });
    worker = await startPlatform(t.config, log, { api: false, worker: true, db: t.db });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    operator = await t.login('operator@demo.test');
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(async () => {
    await nodeB?.stop();
    await worker?.stop();
    await t?.close();
  });

  test('the nodes are separate, and the TTL alone would be too slow', () => {
    assert.notEqual(nodeB.platform.switches, t.running.platform.switches);
    assert.notEqual(worker.platform.switches, t.running.platform.switches);
    assert.ok(t.config.flagCacheTtlMs > PROPAGATION_LIMIT_MS, 'so the figures below come from NOTIFY');
  });

  test('tripping and resetting: validated, audited in the platform chain and the tenant chain', async () => {
    for (const bad of [
      { name: 'ai', channel: 'sms', reason: 'channel on a switch without channels' },
      { name: 'telepathy', reason: 'no such switch' },
      { name: 'ai' },
      { name: 'ai', tenant_id: 'not-a-uuid', reason: 'x' },
    ]) {
      const response = await trip(bad);
      assert.equal(response.statusCode, 400, `${JSON.stringify(bad)}: ${response.body}`);
    }
    assert.equal((await trip({ name: 'ai', tenant_id: '00000000-0000-4000-8000-000000000000', reason: 'x' })).statusCode, 404);
    const member = await t.app.inject({ method: 'POST', url: '/v1/platform/kill-switches/trip', headers: acmeOwner.headers, payload: { name: 'ai', reason: 'x' } });
    assert.equal(member.statusCode, 403);
    assert.equal((await reset({ name: 'sync', tenant_id: acme })).statusCode, 404, 'never tripped');

    const tripped = await trip({ name: 'sync', tenant_id: acme, reason: 'runaway sync client' });
    assert.equal(tripped.statusCode, 200, tripped.body);
    assert.equal(tripped.json().scope, 'tenant');
    assert.equal(tripped.json().tripped, true);
    const back = await reset({ name: 'sync', tenant_id: acme, reason: 'client fixed' });
    assert.equal(back.statusCode, 200, back.body);
    assert.equal(back.json().tripped, false);
    assert.equal((await reset({ name: 'sync', tenant_id: acme })).statusCode, 409, 'not tripped any more');

    const id = tripped.json().id as string;
    const chains = await t.db.owner.selectFrom('audit_events').select(['chain_id', 'action']).where('resource_id', '=', id).orderBy('occurred_at').orderBy('seq').execute();
    assert.deepEqual(
      chains.map((e) => `${e.chain_id === PLATFORM_CHAIN ? 'platform' : e.chain_id === acme ? 'acme' : e.chain_id}:${e.action}`).sort(),
      ['acme:kill_switch.reset', 'acme:kill_switch.tripped', 'platform:kill_switch.reset', 'platform:kill_switch.tripped'],
    );
    const list = await t.app.inject({ method: 'GET', url: `/v1/platform/kill-switches?tenant_id=${acme}`, headers: operator.headers });
    assert.deepEqual(list.json().items.map((s: { name: string; tripped: boolean }) => [s.name, s.tripped]), [['sync', false]]);
  });

  test('a tenant switch tripped on node A stops the action on node B and on the worker within 2 s (NOTIFY)', async () => {
    const log = createLogger(t.config.logLevel);
    // A copy that only has the TTL: the same cache, its listener disabled, loaded just now.
    const unlistened = new FlagCache(t.db, t.running.platform.tenants, log, { ttlMs: t.config.flagCacheTtlMs });
    await unlistened.start({ listen: false });
    const unlistenedSwitches = new KillSwitches(unlistened);
    try {
      // Node B has acme's document cached: the config read after the trip must not be served from it.
      const before = await nodeB.app!.inject({ method: 'GET', url: `/v1/tenants/${acme}/config`, headers: acmeOwner.headers });
      assert.deepEqual(before.json().switches, []);
      for (const switches of [nodeB.platform.switches, worker.platform.switches, unlistenedSwitches]) {
        assert.ok(switches.isOpen('messaging', { tenantId: acme }));
      }

      const started = performance.now();
      const response = await trip({ name: 'messaging', tenant_id: acme, reason: 'spam wave' });
      assert.equal(response.statusCode, 200, response.body);
      const onA = performance.now() - started;
      assert.equal(t.running.platform.switches.isOpen('messaging', { tenantId: acme }), false, 'node A applies its own change before answering');

      const onB = await propagation(() => !nodeB.platform.switches.isOpen('messaging', { tenantId: acme }), started);
      const onWorker = await propagation(() => !worker.platform.switches.isOpen('messaging', { tenantId: acme }), started);
      const onBConfig = await propagation(async () => {
        const read = await nodeB.app!.inject({ method: 'GET', url: `/v1/tenants/${acme}/config`, headers: acmeOwner.headers });
        return (read.json().switches as { name: string }[]).some((s) => s.name === 'messaging');
      }, started);
      const withoutListener = unlistenedSwitches.isOpen('messaging', { tenantId: acme });
      console.log(
        `kill switch propagation (${t.db.backend}): trip answered on A in ${onA.toFixed(1)} ms; ` +
          `closed on API node B in ${onB.toFixed(1)} ms, on the worker in ${onWorker.toFixed(1)} ms, B's config shows it in ${onBConfig.toFixed(1)} ms`,
      );
      assert.equal(withoutListener, true, 'a node without the listener still sees the switch open: the figures above come from NOTIFY');
      assert.equal(nodeB.platform.switches.isOpen('messaging', { tenantId: globex }), true, 'other tenants are not affected');

      // The TTL is the backstop: without the listener the switch arrives with the next reload.
      const backstop = await propagation(() => !unlistenedSwitches.isOpen('messaging', { tenantId: acme }), started, t.config.flagCacheTtlMs + 2_000);
      console.log(`kill switch propagation (${t.db.backend}): without the listener (TTL ${t.config.flagCacheTtlMs} ms only) in ${backstop.toFixed(1)} ms`);
      assert.ok(backstop > PROPAGATION_LIMIT_MS, `without NOTIFY it took only ${backstop.toFixed(0)} ms: the test would not tell the two apart`);

      assert.equal((await reset({ name: 'messaging', tenant_id: acme })).statusCode, 200);
      await propagation(() => nodeB.platform.switches.isOpen('messaging', { tenantId: acme }) && worker.platform.switches.isOpen('messaging', { tenantId: acme }), performance.now());
    } finally {
      await unlistened.stop();
    }
  });

  test('a tripped switch is a 503 problem naming the switch where the action happens', async () => {
    assert.equal((await trip({ name: 'exports', reason: 'storage incident' })).statusCode, 200);
    // An action route as messaging, AI, exports or sync would write it, served by node B.
    const probe = Fastify();
    probe.setErrorHandler(handleError);
    probe.post('/export', async () => {
      nodeB.platform.switches.assertOpen('exports', { tenantId: acme });
      return { started: true };
    });
    try {
      await propagation(() => !nodeB.platform.switches.isOpen('exports', { tenantId: acme }), performance.now());
      const refused = await probe.inject({ method: 'POST', url: '/export' });
      assert.equal(refused.statusCode, 503);
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      const problem = refused.json();
      assert.equal(problem.type, '/problems/switched-off');
      assert.equal(problem.switch, 'exports');
      assert.equal(problem.scope, 'global');

      const globexOwner = await t.login('owner@globex.demo.test', 'globex');
      const globexConfig = await t.app.inject({ method: 'GET', url: `/v1/tenants/${globex}/config`, headers: globexOwner.headers });
      assert.deepEqual(globexConfig.json().switches, [{ name: 'exports', scope: 'global', channel: null }], 'a global switch shows in every tenant configuration');
      assert.equal((await reset({ name: 'exports' })).statusCode, 200);
      await propagation(() => nodeB.platform.switches.isOpen('exports', { tenantId: acme }), performance.now());
      assert.equal((await probe.inject({ method: 'POST', url: '/export' })).statusCode, 200, 'reset: the action runs again');
    } finally {
      await probe.close();
    }
  });

  test('jobs held back by a switch wait and run once it is reset; none is lost, none runs twice', async () => {
    const ran: string[] = [];
    const attempts: string[] = [];
    interface ProbeData extends TenantJobData {
      marker: string;
      channel: 'email' | 'sms';
    }
    // Checked before the handler (the job's declared switch) and at the point of action inside it.
    const declared: JobDefinition<ProbeData> = switchedJob(
      {
        name: 'flags-test-switched',
        async handle(tx, data) {
          attempts.push(data.marker);
          await tx.insertInto('dev_mailbox').values({ tenant_id: data.tenant_id, recipient: 'probe@example.com', subject: data.marker, body: '' }).execute();
          worker.platform.switches.assertOpen('messaging', { tenantId: data.tenant_id, channel: data.channel });
          ran.push(data.marker);
        },
      },
      { name: 'messaging', deferSeconds: 1 },
    );
    // The probe's queue is created now, so a queue client started after it handles it (clients
    // learn the queues at start); it runs with the worker node's switches.
    await prepareJobQueue(t.db, [declared]);
    const queue = await createJobQueue(t.db, createLogger(t.config.logLevel), { worker: true });
    await queue.work(applyJobSwitches([declared], { switches: worker.platform.switches, jobs: queue }));
    const enqueue = (marker: string, channel: ProbeData['channel']) =>
      t.db.withWholeTenant(acme, (tx) => queue.enqueue(tx, declared.name, { tenant_id: acme, correlation_id: `probe-${marker}`, marker, channel }));
    const mailed = async (marker: string) =>
      (await t.db.owner.selectFrom('dev_mailbox').select('id').where('subject', '=', marker).execute()).length;

    try {
      // The whole switch: the job is deferred before its handler runs.
      assert.equal((await trip({ name: 'messaging', tenant_id: acme, reason: 'hold jobs' })).statusCode, 200);
      await propagation(() => !worker.platform.switches.isOpen('messaging', { tenantId: acme }), performance.now());
      await enqueue('whole', 'email');
      // Only the sms channel: the declared check lets it in, the handler's own check defers it and
      // its write is rolled back with it.
      assert.equal((await trip({ name: 'messaging', tenant_id: acme, channel: 'sms', reason: 'sms provider down' })).statusCode, 200);
      await enqueue('channel', 'sms');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.deepEqual([...ran, ...attempts], [], 'nothing ran while the switch was tripped, not even a handler');
      assert.equal(await mailed('channel'), 0, 'the deferred attempts left no writes behind');

      assert.equal((await reset({ name: 'messaging', tenant_id: acme })).statusCode, 200);
      await eventually(async () => ran.includes('whole'));
      // Meanwhile the sms job was let in by the declared check and stopped by the handler's own.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(ran, ['whole'], 'the channel switch still holds the other job');
      assert.ok(attempts.includes('channel'), 'its handler ran');
      assert.equal(await mailed('channel'), 0, "its handler's write was rolled back with the deferral");
      assert.equal((await reset({ name: 'messaging', tenant_id: acme, channel: 'sms' })).statusCode, 200);
      await eventually(async () => ran.includes('channel'));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(ran.sort(), ['channel', 'whole'], 'each job ran exactly once');
      assert.equal(await mailed('channel'), 1);
      assert.equal(await mailed('whole'), 1);
    } finally {
      await queue.stop(1_000);
    }
  });
});
