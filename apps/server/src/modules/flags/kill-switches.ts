import { sql } from 'kysely';
import { AppError } from '../../kernel/errors.ts';
import type { AnyJobDefinition, JobDefinition, JobQueue, TenantJobData } from '../../kernel/jobs/jobs.ts';
import { switchKey, type FlagSnapshot } from './flag-cache.ts';
import type { MessagingChannel, SwitchName } from './flags.schemas.ts';

/**
 * Kill switches at the point of action (FR-FLAG-003). Messaging, AI, exports and sync call
 * `switches.assertOpen(name, { tenantId, channel })` right before they act, in requests and in job
 * handlers alike. The check reads the node's in-memory snapshot (no database round trip), which
 * NOTIFY keeps current within milliseconds and a timer within the TTL. A snapshot older than a few
 * TTLs (the database unreachable) cannot confirm anything: the check then fails closed.
 */
export interface SwitchScope {
  /** The tenant the action is for; absent for actions of no tenant (only global switches apply). */
  tenantId?: string | null;
  /** Messaging: the channel used; a switch for another channel does not apply. */
  channel?: MessagingChannel | null;
}

/** Why an action may not run: the switch that is tripped ('unconfirmed' when the state is unknown). */
export interface BlockingSwitch {
  name: SwitchName;
  scope: 'global' | 'tenant' | 'unconfirmed';
  channel: MessagingChannel | null;
}

const LABELS: Record<SwitchName, string> = { messaging: 'Messaging', ai: 'AI', exports: 'Exports', sync: 'Sync' };

export class KillSwitches {
  readonly #staleLimitMs: number;

  constructor(private readonly source: { snapshot(): FlagSnapshot; readonly ttlMs: number }) {
    this.#staleLimitMs = Math.max(3 * source.ttlMs, 10_000);
  }

  /** The tripped switch that stops this action, or null when it may run. */
  find(name: SwitchName, scope: SwitchScope = {}, now = Date.now()): BlockingSwitch | null {
    const snapshot = this.source.snapshot();
    if (now - snapshot.loadedAt > this.#staleLimitMs) return { name, scope: 'unconfirmed', channel: null };
    const candidates = [
      ...(snapshot.switchIndex.get(switchKey(name, null)) ?? []),
      ...(scope.tenantId ? (snapshot.switchIndex.get(switchKey(name, scope.tenantId)) ?? []) : []),
    ];
    // A switch without a channel covers every channel; a channel's switch only that channel.
    const blocking = candidates.find((s) => s.channel === null) ?? candidates.find((s) => s.channel === (scope.channel ?? null));
    return blocking ? { name, scope: blocking.tenantId === null ? 'global' : 'tenant', channel: blocking.channel } : null;
  }

  isOpen(name: SwitchName, scope: SwitchScope = {}): boolean {
    return this.find(name, scope) === null;
  }

  /** Throws the 503 problem `switched-off` (with the switch's name) when the action may not run. */
  assertOpen(name: SwitchName, scope: SwitchScope = {}): void {
    const blocking = this.find(name, scope);
    if (!blocking) return;
    const where =
      blocking.scope === 'unconfirmed'
        ? 'cannot be confirmed as on right now'
        : `${blocking.channel ? `(${blocking.channel}) ` : ''}is switched off${blocking.scope === 'tenant' ? ' for this organization' : ''}`;
    throw new AppError('switched-off', `${LABELS[name]} ${where}. Try again later.`, {
      switch: name,
      scope: blocking.scope,
      ...(blocking.channel ? { channel: blocking.channel } : {}),
    });
  }
}

export function isSwitchedOff(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'switched-off';
}

// Jobs -----------------------------------------------------------------------------------------

/** Which switch holds a job back, and how long a held-back job waits before it is tried again. */
export interface JobSwitch<D extends TenantJobData> {
  name: SwitchName;
  channel?: (data: D) => MessagingChannel | null | undefined;
  /** Default 30 s. */
  deferSeconds?: number;
}

const JOB_SWITCH = Symbol('job kill switch');

/**
 * Declares that a kill switch holds a job back. The definition stays static (the JOBS list); the
 * worker applies the switch with `applyJobSwitches`.
 */
export function switchedJob<D extends TenantJobData>(definition: JobDefinition<D>, guard: JobSwitch<D>): JobDefinition<D> {
  return Object.assign({ ...definition }, { [JOB_SWITCH]: guard });
}

export interface JobSwitchDependencies {
  switches: KillSwitches;
  jobs: Pick<JobQueue, 'enqueue'>;
}

/**
 * Wraps a job so that a tripped switch defers it instead of running or failing it: a copy of the job
 * (same payload) is enqueued to start `deferSeconds` later, in the same transaction that completes
 * this one, so the work is never lost and never done twice. The switch is checked before the
 * handler runs; a handler that checks again at its point of action (assertOpen) and finds the
 * switch tripped is rolled back to before it started and deferred the same way.
 */
export function deferWhileSwitchedOff<D extends TenantJobData>(deps: JobSwitchDependencies, definition: JobDefinition<D>, guard: JobSwitch<D>): JobDefinition<D> {
  const deferSeconds = guard.deferSeconds ?? 30;
  return {
    ...definition,
    async handle(tx, data, ctx, jobs) {
      const defer = async (blocking: Pick<BlockingSwitch, 'scope'>) => {
        await deps.jobs.enqueue(tx, definition.name, data, { startAfter: new Date(Date.now() + deferSeconds * 1000) });
        ctx.log.info({ switch: guard.name, scope: blocking.scope, deferSeconds }, 'job deferred by a kill switch');
      };
      const blocking = deps.switches.find(guard.name, { tenantId: data.tenant_id, channel: guard.channel?.(data) ?? null });
      if (blocking) return defer(blocking);
      await sql`savepoint job_kill_switch`.execute(tx);
      try {
        await definition.handle(tx, data, ctx, jobs);
      } catch (error) {
        if (!isSwitchedOff(error)) throw error;
        await sql`rollback to savepoint job_kill_switch`.execute(tx);
        await defer({ scope: (error.extra?.scope as BlockingSwitch['scope']) ?? 'global' });
      }
    },
  };
}

/** The worker's job list with every job declared by `switchedJob` wrapped in its switch. */
export function applyJobSwitches(definitions: AnyJobDefinition[], deps: JobSwitchDependencies): AnyJobDefinition[] {
  return definitions.map((definition) => {
    const guard = (definition as { [JOB_SWITCH]?: JobSwitch<TenantJobData> })[JOB_SWITCH];
    return guard ? deferWhileSwitchedOff(deps, definition as JobDefinition<TenantJobData>, guard) : definition;
  });
}
