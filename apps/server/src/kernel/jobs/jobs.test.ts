// Jobs bound to the tenant that enqueued them (FR-TEN-007) and leases sized to the job kind
// (NFR-OPS-001), on the real queue: the platform's worker, and probe queues where a test needs one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { PgBoss } from 'pg-boss';
import { buildTestPlatform, eventually, sqlstate, type TestPlatform } from '../../../test/helpers.ts';
import { PLATFORM_CHAIN } from '../audit/audit.ts';
import { createLogger } from '../log.ts';
import { NOTIFICATION_JOB, type NotificationJobData } from '../notify/notify.ts';
import { createJobQueue, DEAD_LETTER_QUEUE, prepareJobQueue, type JobDefinition, type JobQueue } from './jobs.ts';

describe('jobs run only in the tenant that enqueued them (FR-TEN-007)', () => {
  let t: TestPlatform;
  let jobs: JobQueue;
  let acme: string;
  let globex: string;

  const message = (tenantId: string, to: string): NotificationJobData => ({
    tenant_id: tenantId,
    correlation_id: randomUUID(),
    channel: 'email',
    to,
    subject: 'Forged',
    text: 'Sent in the name of another organization',
    html: null,
    kind: 'probe',
  });
  const deadLetterWhere = (key: string, value: string) =>
    sql<{ id: string }>`select id from pgboss.job where name = ${DEAD_LETTER_QUEUE} and data->>${key} = ${value}`.execute(t.db.owner).then((r) => r.rows[0]);
  const deadLetterFor = (to: string) => deadLetterWhere('to', to);
  const delivered = (to: string) => t.db.owner.selectFrom('dev_mailbox').select(['tenant_id']).where('recipient', '=', to).execute();
  const refusals = (jobId: string) =>
    t.db.owner
      .selectFrom('audit_events')
      .select(['chain_id', 'severity', 'metadata'])
      .where('action', '=', 'security.job_scope_mismatch')
      .where('resource_id', '=', jobId)
      .execute();

  before(async () => {
    t = await buildTestPlatform();
    jobs = t.running.platform.jobs;
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
  });
  after(() => t?.close());

  test("a job enqueued in acme's transaction naming globex is refused, dead-lettered and reported, never delivered", async () => {
    // Through the enqueue path, and by hand in SQL with a forged stamp: both as the app role in acme.
    await t.db.withWholeTenant(acme, (tx) => jobs.enqueue(tx, NOTIFICATION_JOB, message(globex, 'via-enqueue@globex.example')));
    const forged = { ...message(globex, 'via-sql@globex.example'), enqueued_by_tenant: globex };
    await t.db.withWholeTenant(acme, (tx) => sql`insert into pgboss.job (name, data) values (${NOTIFICATION_JOB}, ${JSON.stringify(forged)}::jsonb)`.execute(tx));
    // The control: acme's own message still goes out.
    await t.db.withWholeTenant(acme, (tx) => jobs.enqueue(tx, NOTIFICATION_JOB, message(acme, 'own@acme.example')));
    await eventually(async () => (await delivered('own@acme.example')).length > 0);

    for (const to of ['via-enqueue@globex.example', 'via-sql@globex.example']) {
      const dead = await eventually(() => deadLetterFor(to));
      const listed = (await jobs.deadLetter(dead.id))?.deadLetter;
      assert.ok(listed, to);
      assert.equal(listed.tenantId, globex);
      assert.equal(listed.enqueuedBy, acme, `${to}: the database recorded acme, whatever the payload said`);
      assert.equal(listed.attempts, 1, 'refused at once, not retried');
      assert.equal(listed.replayable, false);
      assert.match(listed.error ?? '', /refused/);
      assert.deepEqual(await delivered(to), [], `${to} was delivered`);
      const [source] = (await sql<{ id: string }>`select source_id as id from pgboss.job where id = ${dead.id}`.execute(t.db.owner)).rows;
      const events = await refusals(source!.id);
      assert.equal(events.length, 1, `${to}: one security event`);
      assert.equal(events[0]!.chain_id, PLATFORM_CHAIN);
      assert.equal(events[0]!.severity, 'high');
      assert.deepEqual(events[0]!.metadata, { queue: NOTIFICATION_JOB, tenant_id: globex, enqueued_by: acme });
    }
  });

  test('a sweep across tenants is started by the scheduler or the platform plane, never by a tenant', async () => {
    const correlationId = randomUUID();
    await t.db.withWholeTenant(acme, (tx) => jobs.enqueue(tx, 'audit-chain-verification', { tenant_id: acme, correlation_id: correlationId }));
    const dead = await eventually(() => deadLetterWhere('correlation_id', correlationId));
    assert.equal((await jobs.deadLetter(dead.id))?.deadLetter.enqueuedBy, acme);
  });

  test('the platform role enqueues platform work only; the app role without a tenant cannot enqueue at all', async () => {
    await t.db.withPlatform((tx) => jobs.enqueue(tx, NOTIFICATION_JOB, message(acme, 'from-platform@acme.example')));
    const dead = await eventually(() => deadLetterFor('from-platform@acme.example'));
    assert.equal((await jobs.deadLetter(dead.id))?.deadLetter.enqueuedBy, 'platform');
    assert.deepEqual(await delivered('from-platform@acme.example'), []);

    const noTenant = () =>
      t.db.withPlatform(async (tx) => {
        await sql`select set_config('role', 'tsv_app', true)`.execute(tx);
        await jobs.enqueue(tx, NOTIFICATION_JOB, message(acme, 'no-tenant@acme.example'));
      });
    assert.equal(await sqlstate(noTenant), '42501');
  });

  test('a tenant job the owner wrote without the stamp is refused too: no path skips the stamping', async () => {
    const unstamped = message(acme, 'unstamped@acme.example');
    await sql`insert into pgboss.job (name, data, dead_letter) values (${NOTIFICATION_JOB}, ${JSON.stringify(unstamped)}::jsonb, ${DEAD_LETTER_QUEUE})`.execute(t.db.owner);
    const dead = await eventually(() => deadLetterFor('unstamped@acme.example'));
    assert.equal((await jobs.deadLetter(dead.id))?.deadLetter.enqueuedBy, null);
    assert.deepEqual(await delivered('unstamped@acme.example'), []);
  });

  test('the app roles may insert into the job tables only: not the schedules or queues the owner turns into jobs', async () => {
    const { rows } = await sql<{ relation: string; role: string; insert: boolean }>`
      select c.oid::regclass::text as relation, r.role, has_table_privilege(r.role, c.oid, 'INSERT') as insert
        from pg_class c join pg_namespace n on n.oid = c.relnamespace, (values ('tsv_app'), ('tsv_platform')) as r(role)
       where n.nspname = 'pgboss' and c.relkind in ('r', 'p')`.execute(t.db.owner);
    const jobTables = new Set((await sql<{ relid: string }>`select relid::text from pg_partition_tree('pgboss.job')`.execute(t.db.owner)).rows.map((r) => r.relid));
    assert.ok(rows.some((r) => r.relation === 'pgboss.schedule'), 'the schedule table is among those checked');
    for (const row of rows) assert.equal(row.insert, jobTables.has(row.relation), `${row.role} insert on ${row.relation}`);
  });
});

describe('leases sized to the job kind (NFR-OPS-001)', () => {
  let t: TestPlatform;

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
  });
  after(() => t?.close());

  test('every queue gets its kind of lease and the dead-letter queue, also a queue created by an earlier release', async () => {
    const old = new PgBoss({ db: { executeSql: (text: string, values?: unknown[]) => t.db.ownerExecute(text, values) }, schema: 'pgboss' } as ConstructorParameters<typeof PgBoss>[0]);
    await old.start();
    await old.createQueue('created-before', { retryLimit: 5, retryDelay: 30 });
    await old.stop({ graceful: false });
    await prepareJobQueue(t.db, [{ name: 'created-before', async handle() {} }]);

    const { rows } = await sql<{ name: string; expire_seconds: number; heartbeat_seconds: number | null; dead_letter: string | null }>`
      select name, expire_seconds, heartbeat_seconds, dead_letter from pgboss.queue where name <> ${DEAD_LETTER_QUEUE} and name not like '\_\_pgboss\_\_%' order by name`.execute(t.db.owner);
    const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
    assert.deepEqual(byName['created-before'], { name: 'created-before', expire_seconds: 60, heartbeat_seconds: null, dead_letter: DEAD_LETTER_QUEUE });
    assert.deepEqual(byName[NOTIFICATION_JOB], { name: NOTIFICATION_JOB, expire_seconds: 60, heartbeat_seconds: null, dead_letter: DEAD_LETTER_QUEUE });
    // Sweeps across tenants: a long lease, and a heartbeat that notices a dead worker within seconds.
    assert.deepEqual(byName['audit-chain-verification'], { name: 'audit-chain-verification', expire_seconds: 3_600, heartbeat_seconds: 30, dead_letter: DEAD_LETTER_QUEUE });
    assert.ok(rows.every((row) => row.dead_letter === DEAD_LETTER_QUEUE), JSON.stringify(rows));
  });

  test('the job of a worker that died mid-job is redelivered to another after its lease, not after 900 s', async () => {
    const acme = t.tenants.acme!.id;
    const runs: string[] = [];
    const probe: JobDefinition = {
      name: 'lease-probe',
      leaseSeconds: 2,
      retryDelaySeconds: 0,
      async handle(_tx, data) {
        runs.push(data.correlation_id);
      },
    };
    await prepareJobQueue(t.db, [probe]);
    // The worker that dies: it claims the job through pg-boss and is never heard of again.
    const crashed = new PgBoss({
      db: { executeSql: (text: string, values?: unknown[]) => t.db.ownerExecute(text, values) },
      schema: 'pgboss',
      supervise: false,
      schedule: false,
    } as ConstructorParameters<typeof PgBoss>[0]);
    const survivor = await createJobQueue(t.db, createLogger('silent'), { worker: true });
    try {
      await crashed.start();
      await t.db.withWholeTenant(acme, (tx) => survivor.enqueue(tx, probe.name, { tenant_id: acme, correlation_id: 'held-by-the-dead' }));
      const [claimed] = await crashed.fetch(probe.name);
      assert.ok(claimed, 'the crashed worker holds the job');
      assert.equal(claimed.expireInSeconds, 2);
      const claimedAt = Date.now();
      await survivor.work([probe]);
      await eventually(async () => runs.includes('held-by-the-dead'), 60_000);
      // The lease (2 s), the supervision interval (10 s) and the first retry's delay (1-2 s), with a
      // wide margin for a busy machine; pg-boss's default lease alone is 900 s.
      const seconds = (Date.now() - claimedAt) / 1000;
      assert.ok(seconds >= 2, `redelivered after ${seconds} s, before the lease ran out`);
      assert.ok(seconds < 45, `redelivered after ${seconds} s`);
      assert.deepEqual(runs, ['held-by-the-dead'], 'it ran once, on the survivor');
    } finally {
      await survivor.stop(1_000);
      await crashed.stop({ graceful: false });
    }
  });
});
