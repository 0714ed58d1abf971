import { randomUUID } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { PgBoss } from 'pg-boss';
import type { RequestContext } from '../context.ts';
import type { Database, Tx } from '../db/database.ts';
import type { Logger } from '../log.ts';

/** Every job payload names its tenant: handlers run inside that tenant's context (FR-TEN-007). */
export interface TenantJobData {
  /** A tenant id, or PLATFORM_JOB_SCOPE for work of the platform plane (staff mail). */
  tenant_id: string;
  correlation_id: string;
  [key: string]: unknown;
}

export const PLATFORM_JOB_SCOPE = 'platform';

export interface JobDefinition<D extends TenantJobData = TenantJobData> {
  name: string;
  retryLimit?: number;
  handle(tx: Tx, data: D, ctx: RequestContext): Promise<void>;
}

/**
 * A recurring job whose work spans tenants (audit chain verification, retention sweeps): no tenant
 * context is opened for it; it gets the database and opens the contexts it needs, saying why.
 */
export interface ScheduledJobDefinition {
  name: string;
  /** Cron expression in UTC; the worker registers it, and pg-boss runs each occurrence once. */
  schedule: string;
  retryLimit?: number;
  run(db: Database, ctx: RequestContext): Promise<void>;
}

export type AnyJobDefinition = JobDefinition<any> | ScheduledJobDefinition;

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
}

const SCHEMA = 'pgboss';

/**
 * Installs the queue's schema and queues as the owner and lets the app role insert jobs, so that
 * enqueueing can happen inside a tenant transaction. Part of migrating.
 */
export async function prepareJobQueue(db: Database, definitions: AnyJobDefinition[]): Promise<void> {
  const boss = newBoss(db);
  await boss.start();
  for (const definition of definitions) {
    if (!(await boss.getQueue(definition.name))) {
      await boss.createQueue(definition.name, {
        retryLimit: definition.retryLimit ?? 5,
        retryDelay: 30,
        retryBackoff: true,
        retryDelayMax: 600,
      });
    }
  }
  await boss.stop({ graceful: false });
  // Insert only: the job tables carry every tenant's payloads and have no RLS, so the app role may
  // add jobs and read back the ids it is given, and read the queue definitions (no payloads). The
  // platform role likewise, for the mail of platform staff.
  await db.ownerExecute(`grant usage on schema ${SCHEMA} to tsv_app, tsv_platform;
    revoke select on all tables in schema ${SCHEMA} from tsv_app, tsv_platform;
    grant insert on all tables in schema ${SCHEMA} to tsv_app, tsv_platform;
    grant select on ${SCHEMA}.queue to tsv_app, tsv_platform;
    do $$
    declare t record;
    begin
      for t in select table_name from information_schema.columns
               where table_schema = '${SCHEMA}' and column_name = 'start_after' loop
        execute format('grant select (id, start_after) on ${SCHEMA}.%I to tsv_app, tsv_platform', t.table_name);
      end loop;
    end
    $$`);
}

function newBoss(db: Database, options: { supervise?: boolean; schedule?: boolean } = {}) {
  return new PgBoss({
    db: { executeSql: (text: string, values?: unknown[]) => db.ownerExecute(text, values) },
    schema: SCHEMA,
    supervise: options.supervise ?? false,
    schedule: options.schedule ?? false,
    migrate: true,
  } as ConstructorParameters<typeof PgBoss>[0]);
}

export async function createJobQueue(db: Database, log: Logger, options: { worker: boolean }): Promise<JobQueue> {
  const boss = newBoss(db, { supervise: options.worker, schedule: options.worker });
  boss.on('error', (error: Error) => log.error({ err: error }, 'job queue error'));
  await boss.start();

  return {
    async enqueue(tx, name, data, options = {}) {
      const inTransaction = {
        executeSql: async (text: string, values?: unknown[]) => tx.executeQuery(CompiledQuery.raw(text, values ?? [])),
      };
      const startAfter = options.startAfter ? { startAfter: options.startAfter } : {};
      await boss.send(name, data, { db: inTransaction, ...startAfter } as Parameters<PgBoss['send']>[2]);
    },
    async work(definitions) {
      for (const definition of definitions) {
        if ('schedule' in definition) {
          await boss.schedule(definition.name, definition.schedule, null, { tz: 'UTC' });
          await boss.work(definition.name, { pollingIntervalSeconds: 5 }, async (jobs) => {
            for (const job of jobs) {
              const correlationId = randomUUID();
              const jobLog = log.child({ job: definition.name, jobId: job.id, correlationId });
              await definition.run(db, { correlationId, ip: null, userAgent: null, actor: null, reach: 'all', log: jobLog });
            }
          });
          continue;
        }
        // Jobs of the platform plane (staff mail) name no tenant and run as the platform role.
        const inScope = (tenantId: string, fn: (tx: Tx) => Promise<void>) => (tenantId === PLATFORM_JOB_SCOPE ? db.withPlatform(fn) : db.withTenant(tenantId, fn));
        await boss.work<TenantJobData>(definition.name, { pollingIntervalSeconds: 0.5 }, async (jobs) => {
          for (const job of jobs) {
            const ctx: RequestContext = {
              correlationId: job.data.correlation_id ?? randomUUID(),
              ip: null,
              userAgent: null,
              actor: null,
              reach: 'all',
              log: log.child({ job: definition.name, jobId: job.id, correlationId: job.data.correlation_id }),
            };
            await inScope(job.data.tenant_id, (tx) => definition.handle(tx, job.data, ctx));
          }
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
  };
}
