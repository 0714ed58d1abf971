import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { PgBoss, type JobResult, type UpdateQueueOptions } from 'pg-boss';
import { recordSecurityEvent } from '../audit/audit.ts';
import type { RequestContext } from '../context.ts';
import { isUuid, type Database, type Tx } from '../db/database.ts';
import type { Logger } from '../log.ts';

/** Every job payload names its tenant: handlers run inside that tenant's context (FR-TEN-007). */
export interface TenantJobData {
  /** A tenant id, or PLATFORM_JOB_SCOPE for work of the platform plane (staff mail). */
  tenant_id: string;
  correlation_id: string;
  /**
   * Where the job was enqueued (ENQUEUED_BY), written by the database from the enqueuing
   * transaction: its tenant, or PLATFORM_JOB_SCOPE. Whatever a payload claims here is overwritten.
   */
  enqueued_by_tenant?: string;
  [key: string]: unknown;
}

export const PLATFORM_JOB_SCOPE = 'platform';

/** The payload key the database stamps with the scope of the transaction that enqueued the job. */
const ENQUEUED_BY = 'enqueued_by_tenant' satisfies keyof TenantJobData;

/** Where every queue sends the jobs that failed all their attempts or were refused. */
export const DEAD_LETTER_QUEUE = 'dead-letter';

/** How the queue treats one kind of job. */
interface JobKind {
  /** Attempts after the first; a job that fails them all is dead-lettered. */
  retryLimit?: number;
  /** Delay before the first retry (30 s), doubled with jitter for each one after, up to 10 minutes. */
  retryDelaySeconds?: number;
  /**
   * How long a worker may hold a job (pg-boss expireInSeconds): the job of a worker that died is
   * redelivered to another after this, and a handler still running at its end is failed and retried.
   */
  leaseSeconds?: number;
  /**
   * For long jobs: the worker renews its claim every half of this while the handler runs, and a job
   * whose claim was not renewed for this long (its worker died) is redelivered. At least 10.
   */
  heartbeatSeconds?: number;
}

export interface JobDefinition<D extends TenantJobData = TenantJobData> extends JobKind {
  name: string;
  /** `jobs` enqueues follow-up work in the handler's transaction: it exists if the job's work commits. */
  handle(tx: Tx, data: D, ctx: RequestContext, jobs: JobTools): Promise<void>;
}

/** What a handler is given beside its transaction. */
export interface JobTools extends Pick<JobQueue, 'enqueue'> {
  /**
   * CAUTION: a job of the platform plane continues in one tenant's context for the rest of its
   * transaction (PlatformTransaction.continueInTenant); a tenant's job is in its tenant already.
   */
  continueInTenant(tenantId: string): Promise<void>;
}

const inItsTenantAlready = () => Promise.reject(new Error("a tenant's job runs in its tenant already"));

/**
 * A recurring job whose work spans tenants (audit chain verification, retention sweeps): no tenant
 * context is opened for it; it gets the database and opens the contexts it needs, saying why.
 */
export interface ScheduledJobDefinition extends JobKind {
  name: string;
  /** Cron expression in UTC; the worker registers it, and pg-boss runs each occurrence once. */
  schedule: string;
  run(db: Database, ctx: RequestContext): Promise<void>;
}

export type AnyJobDefinition = JobDefinition<any> | ScheduledJobDefinition;

/**
 * A queue as every process prepares it: a job's name and settings without its handler. `schedule`
 * marks a scheduled job's queue (its settings differ); the worker registers the schedule its bound
 * definition carries.
 */
export type JobQueueDefinition = JobKind & { name: string; schedule?: string };

/** A job that failed every attempt or was refused, as operators see it: never its payload. */
export interface DeadLetter {
  id: string;
  /** The queue it failed on. */
  queue: string;
  /** The tenant its payload names (PLATFORM_JOB_SCOPE for the platform plane); null for scheduled work. */
  tenantId: string | null;
  /** Where the database recorded it was enqueued; null when the owner enqueued it (the scheduler). */
  enqueuedBy: string | null;
  error: string | null;
  attempts: number;
  createdAt: Date;
  failedAt: Date;
  payloadKeys: string[];
  /**
   * False for a job refused for its scope (a replay would run it where its enqueuer had no right
   * to), and for one whose payload names no valid tenant or whose queue is unknown.
   */
  replayable: boolean;
}

export interface JobQueue {
  /**
   * Enqueues in the caller's transaction: the job exists if and only if the change commits.
   * `startAfter` holds it back until then (a job deferred by a kill switch).
   */
  enqueue(tx: Tx, name: string, data: TenantJobData, options?: { startAfter?: Date }): Promise<void>;
  /** Starts handling the given jobs in this process (the worker). */
  work(definitions: AnyJobDefinition[]): Promise<void>;
  /** Waits for running jobs to finish, then stops. */
  stop(graceMs: number): Promise<void>;
  depth(name: string): Promise<number>;
  /** Dead letters in the order they failed, after the given one. */
  deadLetters(page: { limit: number; after: { createdAt: string; id: string } | null }): Promise<DeadLetter[]>;
  /**
   * A dead letter, read before the caller opens its transaction, with the replay of its payload:
   * `replay` enqueues it again on its queue in that transaction, under the dead letter's id, so that
   * a dead letter is replayed at most once (false when it already was, or is not replayable).
   */
  deadLetter(id: string): Promise<{ deadLetter: DeadLetter; replay(tx: Tx): Promise<boolean> } | null>;
  /** Removes a dead letter, once its replay has committed. */
  discardDeadLetter(id: string): Promise<void>;
}

const SCHEMA = 'pgboss';

/**
 * How often a worker looks for jobs whose lease or heartbeat ran out (pg-boss supervision and
 * monitoring, 60 s by default): a crashed worker's job is redelivered within its lease plus this.
 */
const SUPERVISE_SECONDS = 10;

function queueSettings(definition: JobQueueDefinition): UpdateQueueOptions {
  // Scheduled sweeps may run for long: a long lease bounds them, a heartbeat notices a dead worker.
  const scheduled = definition.schedule !== undefined;
  return {
    retryLimit: definition.retryLimit ?? 5,
    retryDelay: definition.retryDelaySeconds ?? 30,
    retryBackoff: true,
    retryDelayMax: 600,
    expireInSeconds: definition.leaseSeconds ?? (scheduled ? 3_600 : 60),
    heartbeatSeconds: definition.heartbeatSeconds ?? (scheduled ? 30 : null),
    deadLetter: DEAD_LETTER_QUEUE,
  };
}

/**
 * The app roles' access to the job tables, and the stamp binding each job to the transaction that
 * enqueued it (FR-TEN-007). The app roles may insert into the job table and its partitions only
 * (not the schedules or queues, which the owner turns into jobs) and read back the ids they are
 * given. The BEFORE INSERT trigger on the partitioned job table, cloned by PostgreSQL onto every
 * partition including those created later, writes the inserting transaction's scope into the
 * payload: its tenant (app.tenant_id), or 'platform' for the platform role, and refuses an insert
 * with neither. The owner's own inserts (pg-boss retrying, dead-lettering and scheduling jobs) keep
 * their rows as they are. Installing the trigger stamps the jobs already queued, which the previous
 * release enqueued. One advisory lock serialises nodes starting together.
 */
const JOB_TABLE_GUARD = `
select pg_advisory_xact_lock(hashtext('${SCHEMA}.job_table_guard'));
grant usage on schema ${SCHEMA} to tsv_app, tsv_platform;
revoke all on all tables in schema ${SCHEMA} from tsv_app, tsv_platform;
grant select on ${SCHEMA}.queue to tsv_app, tsv_platform;
do $$
declare t record;
begin
  for t in select relid from pg_partition_tree('${SCHEMA}.job') loop
    execute format('grant insert, select (id, start_after) on %s to tsv_app, tsv_platform', t.relid);
  end loop;
end
$$;
create or replace function ${SCHEMA}.stamp_enqueuing_scope() returns trigger language plpgsql as $fn$
declare
  scope text;
begin
  if pg_has_role(current_user, (select relowner from pg_class where oid = tg_relid), 'USAGE') then
    return new;
  end if;
  scope := case when current_user = 'tsv_platform' then '${PLATFORM_JOB_SCOPE}' else nullif(current_setting('app.tenant_id', true), '') end;
  if scope is null or jsonb_typeof(new.data) is distinct from 'object' then
    raise exception 'jobs are enqueued with an object payload in a tenant or platform transaction' using errcode = '42501';
  end if;
  new.data := new.data || jsonb_build_object('${ENQUEUED_BY}', scope);
  -- A job inserted by hand still goes to the dead-letter queue when it fails or is refused.
  new.dead_letter := (select q.dead_letter from ${SCHEMA}.queue q where q.name = new.name);
  return new;
end
$fn$;
do $$
begin
  if not exists (select 1 from pg_trigger where tgrelid = '${SCHEMA}.job'::regclass and tgname = 'stamp_enqueuing_scope') then
    update ${SCHEMA}.job set data = data || jsonb_build_object('${ENQUEUED_BY}', data->'tenant_id')
     where state < 'completed' and jsonb_typeof(data) = 'object' and data ? 'tenant_id';
    create trigger stamp_enqueuing_scope before insert on ${SCHEMA}.job
      for each row execute function ${SCHEMA}.stamp_enqueuing_scope();
  end if;
end
$$`;

/**
 * Installs the queue's schema and queues as the owner, with every queue's current settings (queues
 * created by an earlier release included; a job keeps the settings it was sent with), and lets the
 * app roles enqueue inside their transactions. Part of migrating.
 */
export async function prepareJobQueue(db: Database, definitions: readonly (JobQueueDefinition | AnyJobDefinition)[]): Promise<void> {
  const boss = newBoss(db);
  await boss.start();
  for (const name of [DEAD_LETTER_QUEUE, ...definitions.map((definition) => definition.name)]) {
    if (!(await boss.getQueue(name))) await boss.createQueue(name);
  }
  for (const definition of definitions) await boss.updateQueue(definition.name, queueSettings(definition));
  await boss.stop({ graceful: false });
  await db.ownerExecute(JOB_TABLE_GUARD);
}

function newBoss(db: Database, options: { supervise?: boolean; schedule?: boolean } = {}) {
  return new PgBoss({
    db: { executeSql: (text: string, values?: unknown[]) => db.ownerExecute(text, values) },
    schema: SCHEMA,
    supervise: options.supervise ?? false,
    schedule: options.schedule ?? false,
    superviseIntervalSeconds: SUPERVISE_SECONDS,
    monitorIntervalSeconds: SUPERVISE_SECONDS,
    migrate: true,
  } as ConstructorParameters<typeof PgBoss>[0]);
}

function payloadOf(data: unknown): Record<string, unknown> | null {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
}

/** The scope a payload names: its tenant, or the platform plane for work that names none. */
function payloadScope(payload: Record<string, unknown> | null): string {
  return typeof payload?.tenant_id === 'string' ? payload.tenant_id : PLATFORM_JOB_SCOPE;
}

/**
 * FR-TEN-007: a tenant job runs only in the tenant whose transaction enqueued it, as the database
 * recorded it (so also never when unstamped: only the owner can write such a job, and no code path
 * enqueues tenant work as the owner); a scheduled job only when the scheduler (the owner) or the
 * platform plane enqueued it.
 */
function runsWhereEnqueued(data: unknown, scheduled: boolean): boolean {
  const payload = payloadOf(data);
  const enqueuedBy = payload?.[ENQUEUED_BY];
  return scheduled ? enqueuedBy === undefined || enqueuedBy === PLATFORM_JOB_SCOPE : enqueuedBy !== undefined && enqueuedBy === payload?.tenant_id;
}

interface DeadLetterRow {
  id: string;
  source_name: string | null;
  data: unknown;
  source_output: { message?: unknown; value?: { message?: unknown } } | null;
  source_retry_count: number | null;
  source_created_on: Date | null;
  created_on: Date;
}

const DEAD_LETTER_COLUMNS = sql.raw('id, source_name, data, source_output, source_retry_count, source_created_on, created_on');

function deadLetterOf(row: DeadLetterRow): DeadLetter {
  const payload = payloadOf(row.data);
  const enqueuedBy = payload?.[ENQUEUED_BY];
  const error = row.source_output?.message ?? row.source_output?.value?.message;
  const scope = payloadScope(payload);
  return {
    id: row.id,
    queue: row.source_name ?? DEAD_LETTER_QUEUE,
    tenantId: typeof payload?.tenant_id === 'string' ? payload.tenant_id : null,
    enqueuedBy: typeof enqueuedBy === 'string' ? enqueuedBy : null,
    error: typeof error === 'string' ? error.slice(0, 500) : null,
    attempts: (row.source_retry_count ?? 0) + 1,
    createdAt: row.source_created_on ?? row.created_on,
    failedAt: row.created_on,
    payloadKeys: Object.keys(payload ?? {}).filter((key) => key !== ENQUEUED_BY),
    replayable: row.source_name !== null && (enqueuedBy === undefined || enqueuedBy === scope) && (scope === PLATFORM_JOB_SCOPE || isUuid(scope)),
  };
}

export async function createJobQueue(db: Database, log: Logger, options: { worker: boolean }): Promise<JobQueue> {
  const boss = newBoss(db, { supervise: options.worker, schedule: options.worker });
  boss.on('error', (error: Error) => log.error({ err: error }, 'job queue error'));
  await boss.start();

  const send = (tx: Tx, name: string, data: object, options: { startAfter?: Date; id?: string }) => {
    const inTransaction = {
      executeSql: async (text: string, values?: unknown[]) => tx.executeQuery(CompiledQuery.raw(text, values ?? [])),
    };
    return boss.send(name, data, { db: inTransaction, ...options } as Parameters<PgBoss['send']>[2]);
  };

  /** Dead-letters a job enqueued outside its scope, as a security event in the platform chain. */
  async function refuse(job: { id: string; name: string; data: unknown }, ctx: RequestContext): Promise<JobResult> {
    const payload = payloadOf(job.data);
    const facts = { queue: job.name, tenant_id: payload?.tenant_id ?? null, enqueued_by: payload?.[ENQUEUED_BY] ?? null };
    ctx.log.error(facts, 'job refused: it was not enqueued in the scope its payload names');
    await recordSecurityEvent(db, ctx, {
      tenantId: null,
      action: 'security.job_scope_mismatch',
      severity: 'high',
      actor: { type: 'system', id: 'job-worker' },
      resourceType: 'job',
      resourceId: job.id,
      metadata: facts,
    });
    return { id: job.id, status: 'deadletter', output: { message: 'refused: not enqueued in the scope its payload names' } };
  }

  const jobContext = (name: string, jobId: string, correlationId: string): RequestContext => ({
    correlationId,
    ip: null,
    userAgent: null,
    actor: null,
    reach: 'all',
    log: log.child({ job: name, jobId, correlationId }),
  });

  const enqueue: JobQueue['enqueue'] = async (tx, name, data, options = {}) => {
    await send(tx, name, data, options.startAfter ? { startAfter: options.startAfter } : {});
  };

  return {
    enqueue,
    async work(definitions) {
      for (const definition of definitions) {
        if ('schedule' in definition) {
          await boss.schedule(definition.name, definition.schedule, null, { tz: 'UTC' });
          await boss.work(definition.name, { pollingIntervalSeconds: 5, perJobResults: true }, async (jobs) => {
            const results: JobResult[] = [];
            for (const job of jobs) {
              const ctx = jobContext(definition.name, job.id, randomUUID());
              if (!runsWhereEnqueued(job.data, true)) {
                results.push(await refuse(job, ctx));
                continue;
              }
              await definition.run(db, ctx);
              results.push({ id: job.id, status: 'completed' });
            }
            return results;
          });
          continue;
        }
        // Jobs of the platform plane (staff mail) name no tenant and run as the platform role.
        const handle = (data: TenantJobData, ctx: RequestContext) =>
          data.tenant_id === PLATFORM_JOB_SCOPE
            ? db.withPlatform((tx, transaction) => definition.handle(tx, data, ctx, { enqueue, continueInTenant: transaction.continueInTenant }))
            : db.withWholeTenant(data.tenant_id, (tx) => definition.handle(tx, data, ctx, { enqueue, continueInTenant: inItsTenantAlready }));
        await boss.work<TenantJobData>(definition.name, { pollingIntervalSeconds: 0.5, perJobResults: true }, async (jobs) => {
          const results: JobResult[] = [];
          for (const job of jobs) {
            const ctx = jobContext(definition.name, job.id, job.data?.correlation_id ?? randomUUID());
            if (!runsWhereEnqueued(job.data, false)) {
              results.push(await refuse(job, ctx));
              continue;
            }
            await handle(job.data, ctx);
            results.push({ id: job.id, status: 'completed' });
          }
          return results;
        });
      }
    },
    async stop(graceMs) {
      await boss.stop({ graceful: true, timeout: graceMs });
    },
    async depth(name) {
      const queue = await boss.getQueue(name);
      return queue ? queue.queuedCount + queue.activeCount : 0;
    },
    // Dead letters are read on the owner connection: the app roles cannot read job payloads. The
    // cursor holds milliseconds, as a Date does: the key is cut to them.
    async deadLetters({ limit, after }) {
      const { rows } = await sql<DeadLetterRow>`
        select ${DEAD_LETTER_COLUMNS} from pgboss.job
         where name = ${DEAD_LETTER_QUEUE} and state < 'active'
           ${after ? sql`and (date_trunc('milliseconds', created_on), id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql``}
         order by date_trunc('milliseconds', created_on), id
         limit ${limit}`.execute(db.owner);
      return rows.map(deadLetterOf);
    },
    async deadLetter(id) {
      const { rows } = await sql<DeadLetterRow>`
        select ${DEAD_LETTER_COLUMNS} from pgboss.job where name = ${DEAD_LETTER_QUEUE} and id = ${id} and state < 'active'`.execute(db.owner);
      const row = rows[0];
      if (!row) return null;
      const deadLetter = deadLetterOf(row);
      return {
        deadLetter,
        // The payload stays here: operators see its keys only.
        replay: async (tx) => deadLetter.replayable && (await send(tx, deadLetter.queue, payloadOf(row.data) ?? {}, { id })) !== null,
      };
    },
    async discardDeadLetter(id) {
      await boss.deleteJob(DEAD_LETTER_QUEUE, id);
    },
  };
}
