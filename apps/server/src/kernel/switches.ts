import { sql } from 'kysely';
import { AppError } from './errors.ts';
import type { AnyJobDefinition, JobDefinition, JobQueue, TenantJobData } from './jobs/jobs.ts';

/**
 * The kill-switch port (FR-FLAG-003): messaging, AI, exports and sync call
 * `platform.switches.assertOpen(name, { tenantId, channel })` right before they act, in requests and
 * in job handlers alike. The flags module implements it from its cache of tripped switches; until
 * it does, every check fails closed.
 */
export const SWITCH_NAMES = ['messaging', 'ai', 'exports', 'sync'] as const;
export type SwitchName = (typeof SWITCH_NAMES)[number];
export const MESSAGING_CHANNELS = ['email', 'sms', 'whatsapp', 'push'] as const;
export type MessagingChannel = (typeof MESSAGING_CHANNELS)[number];

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

export interface KillSwitchPort {
  /** The tripped switch that stops this action, or null when it may run. */
  find(name: SwitchName, scope?: SwitchScope): BlockingSwitch | null;
  isOpen(name: SwitchName, scope?: SwitchScope): boolean;
  /** Throws the 503 problem `switched-off` (with the switch's name) when the action may not run. */
  assertOpen(name: SwitchName, scope?: SwitchScope): void;
}

const LABELS: Record<SwitchName, string> = { messaging: 'Messaging', ai: 'AI', exports: 'Exports', sync: 'Sync' };

/** The port over a `find`: what implementations and the unbound port share. */
export function switchPortOf(find: (name: SwitchName, scope: SwitchScope) => BlockingSwitch | null): KillSwitchPort {
  return {
    find: (name, scope = {}) => find(name, scope),
    isOpen: (name, scope = {}) => find(name, scope) === null,
    assertOpen(name, scope = {}) {
      const blocking = find(name, scope);
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
    },
  };
}

/** The port the platform holds: refuses everything until a module binds its implementation. */
export function createSwitchPort(): KillSwitchPort & { bind(implementation: KillSwitchPort): void } {
  let bound: KillSwitchPort | null = null;
  return {
    ...switchPortOf((name, scope) => (bound ? bound.find(name, scope) : { name, scope: 'unconfirmed', channel: null })),
    bind(implementation) {
      bound = implementation;
    },
  };
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
  switches: Pick<KillSwitchPort, 'find'>;
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
