// The daily chain verification (FR-AUD-002): scheduled by the worker; a chain changed, cut or
// reordered with the owner's credentials raises a critical security event naming the chain and its
// first broken event, in the platform chain and in the tenant's own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql, type Selectable } from 'kysely';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { loadCheckpointKeys } from '../../kernel/audit/checkpoints.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { AuditEventsTable } from '../../kernel/db/schema.ts';
import { PLATFORM_JOB_SCOPE } from '../../kernel/jobs/jobs.ts';
import { createLogger } from '../../kernel/log.ts';
import { buildTestPlatform, eventually, type TestPlatform } from '../../../test/helpers.ts';
import { CHAIN_VERIFICATION_JOB, CHECKPOINT_JOB, checkpointSchedule, verifyChainsAndReport } from './index.ts';

type AuditRow = Selectable<AuditEventsTable>;

describe('daily audit chain verification', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  const ctx = (): RequestContext => ({ correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: createLogger('silent') });

  const chainOf = (chainId: string) => t.db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute();
  const alarms = (chainId: string) =>
    t.db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).where('action', '=', 'security.audit_chain_broken').orderBy('seq').execute();

  /**
   * Tampers with the owner's credentials (the append-only trigger switched off, as an intruder
   * could), runs check, then undoes exactly the tampering: events appended meanwhile stay valid.
   */
  async function tampered<T>(tamper: () => Promise<() => Promise<void>>, check: () => Promise<T>): Promise<T> {
    await sql`alter table audit_events disable trigger audit_events_no_update`.execute(t.db.owner);
    let undo: (() => Promise<void>) | null = null;
    try {
      undo = await tamper();
      await sql`alter table audit_events enable trigger audit_events_no_update`.execute(t.db.owner);
      return await check();
    } finally {
      await sql`alter table audit_events disable trigger audit_events_no_update`.execute(t.db.owner);
      await undo?.();
      await sql`alter table audit_events enable trigger audit_events_no_update`.execute(t.db.owner);
      assert.deepEqual((await t.verifyAudit()).breaks, [], 'the tampering was not undone');
    }
  }

  before(async () => {
    t = await buildTestPlatform({}, { worker: true });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    for (const [tenant, slug] of [[acme, 'acme'], [globex, 'globex']] as const) {
      const owner = await t.login(`owner@${slug}.demo.test`, slug);
      for (const name of ['One', 'Two', 'Three']) {
        const response = await t.app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/customers`, headers: owner.headers, payload: { name } });
        assert.equal(response.statusCode, 201);
      }
    }
  });
  after(() => t?.close());

  test('the worker registers the job to run every day (UTC)', async () => {
    const schedule = await sql<{ cron: string; timezone: string }>`select cron, timezone from pgboss.schedule where name = ${CHAIN_VERIFICATION_JOB}`.execute(t.db.owner);
    assert.deepEqual(schedule.rows, [{ cron: '17 3 * * *', timezone: 'UTC' }]);
  });

  test('the worker signs the chain heads every hour by default (UTC), and the job runs from the queue', async () => {
    const schedule = await sql<{ cron: string; timezone: string }>`select cron, timezone from pgboss.schedule where name = ${CHECKPOINT_JOB}`.execute(t.db.owner);
    assert.deepEqual(schedule.rows, [{ cron: '7 * * * *', timezone: 'UTC' }]);
    await t.db.withPlatform((tx) => t.running.platform.jobs.enqueue(tx, CHECKPOINT_JOB, { tenant_id: PLATFORM_JOB_SCOPE, correlation_id: randomUUID() }));
    const heads = await t.db.owner.selectFrom('audit_chain_heads').select(['chain_id', 'seq']).where('seq', '>', 0).execute();
    const checkpoints = await eventually(async () => {
      const rows = await t.db.owner.selectFrom('audit_checkpoints').select(['chain_id', 'seq']).execute();
      return rows.length >= heads.length && rows;
    }, 30_000);
    for (const head of heads) assert.ok(checkpoints.some((c) => c.chain_id === head.chain_id && c.seq >= head.seq), head.chain_id);
    assert.deepEqual((await t.verifyAudit()).breaks, []);
  });

  test('AUDIT_CHECKPOINT_INTERVAL_MINUTES becomes the schedule', () => {
    assert.deepEqual([5, 15, 30, 60, 120, 720, 1440].map(checkpointSchedule), ['*/5 * * * *', '*/15 * * * *', '*/30 * * * *', '7 * * * *', '7 */2 * * *', '7 */12 * * *', '7 0 * * *']);
  });

  test('intact chains raise nothing', async () => {
    const report = await verifyChainsAndReport(t.db, ctx(), await loadCheckpointKeys(t.config));
    assert.equal(report.ok, true);
    assert.ok(report.chains >= 3 && report.events > 0);
    assert.deepEqual(await alarms(PLATFORM_CHAIN), []);
  });

  for (const kind of ['changed', 'deleted', 'reordered'] as const) {
    test(`a ${kind} event raises a critical security event naming the chain and the first broken event`, async () => {
      let original!: AuditRow[];
      let expected!: { seq: number; event_id: string; reason: string };
      const platformBefore = (await alarms(PLATFORM_CHAIN)).length;
      const acmeBefore = (await alarms(acme)).length;
      await tampered(
        async () => {
          original = await chainOf(acme);
          const [a, b] = [original[2]!, original[3]!];
          if (kind === 'changed') {
            await t.db.owner.updateTable('audit_events').set({ outcome: 'denied' }).where('id', '=', a.id).execute();
            expected = { seq: a.seq, event_id: a.id, reason: 'hash-mismatch' };
            return async () => void (await t.db.owner.updateTable('audit_events').set({ outcome: a.outcome }).where('id', '=', a.id).execute());
          }
          if (kind === 'deleted') {
            await t.db.owner.deleteFrom('audit_events').where('id', '=', a.id).execute();
            expected = { seq: b.seq, event_id: b.id, reason: 'sequence-gap' };
            return async () => void (await t.db.owner.insertInto('audit_events').values({ ...a, metadata: JSON.stringify(a.metadata) }).execute());
          }
          const swap = async () => {
            const [x, y] = await Promise.all([a, b].map((e) => t.db.owner.selectFrom('audit_events').select(['id', 'seq']).where('id', '=', e.id).executeTakeFirstOrThrow()));
            await t.db.owner.updateTable('audit_events').set({ seq: -1 }).where('id', '=', x!.id).execute();
            await t.db.owner.updateTable('audit_events').set({ seq: x!.seq }).where('id', '=', y!.id).execute();
            await t.db.owner.updateTable('audit_events').set({ seq: y!.seq }).where('id', '=', x!.id).execute();
          };
          await swap();
          expected = { seq: a.seq, event_id: b.id, reason: 'prev-hash-mismatch' };
          return swap;
        },
        async () => {
          const report = await verifyChainsAndReport(t.db, ctx(), await loadCheckpointKeys(t.config));
          assert.equal(report.ok, false);
          assert.deepEqual(report.breaks, [{ chainId: acme, seq: expected.seq, eventId: expected.event_id, reason: expected.reason }]);
        },
      );
      const [platformAlarm, ...morePlatform] = (await alarms(PLATFORM_CHAIN)).slice(platformBefore);
      const [tenantAlarm, ...moreTenant] = (await alarms(acme)).slice(acmeBefore);
      assert.deepEqual([morePlatform, moreTenant], [[], []], 'one alarm per broken chain and run');
      for (const alarm of [platformAlarm!, tenantAlarm!]) {
        assert.equal(alarm.category, 'security');
        assert.equal(alarm.severity, 'critical');
        assert.equal(alarm.outcome, 'failure');
        assert.equal(alarm.actor_type, 'system');
        assert.equal(alarm.resource_type, 'audit_chain');
        assert.equal(alarm.resource_id, acme);
        assert.deepEqual(alarm.metadata, { chain_id: acme, tenant_id: acme, ...expected });
      }
      assert.equal(platformAlarm!.tenant_id, null);
      assert.equal(tenantAlarm!.tenant_id, acme);
    });
  }

  test('the worker runs the job: a break in another chain is reported from the queue', async () => {
    const before = (await alarms(PLATFORM_CHAIN)).length;
    await tampered(
      async () => {
        const target = (await chainOf(globex))[1]!;
        await t.db.owner.updateTable('audit_events').set({ actor_id: 'someone-else' }).where('id', '=', target.id).execute();
        // What the schedule does each day: one job on the queue, handled by the worker. A tenant
        // cannot enqueue it (the worker refuses sweeps enqueued by tenants); the platform plane can.
        await t.db.withPlatform((tx) => t.running.platform.jobs.enqueue(tx, CHAIN_VERIFICATION_JOB, { tenant_id: PLATFORM_JOB_SCOPE, correlation_id: randomUUID() }));
        const alarm = await eventually(async () => (await alarms(PLATFORM_CHAIN)).slice(before)[0], 30_000);
        assert.deepEqual(alarm.metadata, { chain_id: globex, tenant_id: globex, seq: target.seq, event_id: target.id, reason: 'hash-mismatch' });
        return async () => void (await t.db.owner.updateTable('audit_events').set({ actor_id: target.actor_id }).where('id', '=', target.id).execute());
      },
      async () => undefined,
    );
  });
});
