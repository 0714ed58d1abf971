import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { canonicalJson } from '../../kernel/audit/audit.ts';
import { isUuid, type Database, type Tx } from '../../kernel/db/database.ts';
import type { FlagValue } from './flags.tables.ts';
import type { Logger } from '../../kernel/log.ts';
import { listAllFlags, listTenantOverrides, listTrippedSwitches } from './flags.queries.ts';
import type { MessagingChannel, SwitchName } from '../../kernel/switches.ts';
import type { TenantDirectory } from '../../kernel/tenants.ts';

/**
 * Every node keeps a copy of the flag definitions and the tripped kill switches (the snapshot) and
 * of the effective flags of the tenants it served (the documents). A change announces itself on
 * the `tsv_flags` channel in the transaction that makes it; PostgreSQL delivers the NOTIFY to every
 * node's listener on commit, which reloads the snapshot or drops the tenant's document within
 * milliseconds. A timer reloads the snapshot every TTL and documents expire after the TTL: the
 * backstop for a lost notification (CON-ARCH-005, FR-FLAG-003).
 */
export const FLAGS_CHANNEL = 'tsv_flags';

/** What changed: whether the snapshot must be reloaded, and whose documents are stale (null: everyone's). */
export interface FlagChange {
  reload: boolean;
  tenantId: string | null;
}

export function encodeFlagChange(change: FlagChange): string {
  return `${change.reload ? 'reload' : 'tenant'}:${change.tenantId ?? '*'}`;
}

export function decodeFlagChange(payload: string): FlagChange {
  const [kind, scope] = payload.split(':', 2);
  if ((kind === 'reload' || kind === 'tenant') && (scope === '*' || isUuid(scope))) {
    return { reload: kind === 'reload', tenantId: scope === '*' ? null : scope };
  }
  // Anything unexpected reloads everything: never keep a value we cannot account for.
  return { reload: true, tenantId: null };
}

/** Announces a change inside the transaction that makes it: delivered to every node on commit only. */
export async function announceFlagChange(tx: Tx, change: FlagChange): Promise<void> {
  await sql`select pg_notify(${FLAGS_CHANNEL}, ${encodeFlagChange(change)})`.execute(tx);
}

export interface FlagDefinition {
  key: string;
  kind: 'boolean' | 'variant';
  variants: readonly string[];
  defaultValue: FlagValue;
  planDefaults: Readonly<Record<string, FlagValue>>;
}

export interface TrippedSwitch {
  name: SwitchName;
  tenantId: string | null;
  channel: MessagingChannel | null;
}

export interface FlagSnapshot {
  definitions: readonly FlagDefinition[];
  switches: readonly TrippedSwitch[];
  /** Tripped switches by `name:tenant` ('*' for global ones), for checks at the point of action. */
  switchIndex: ReadonlyMap<string, readonly TrippedSwitch[]>;
  loadedAt: number;
}

/** A switch as a tenant or application sees it. */
export interface AffectingSwitch {
  name: SwitchName;
  scope: 'global' | 'tenant';
  channel: MessagingChannel | null;
}

/** A tenant's effective flags and the tripped switches affecting it: what the ETag covers. */
export interface FlagsDocument {
  tenant_id: string;
  flags: Record<string, FlagValue>;
  switches: AffectingSwitch[];
}

export interface DeliveredFlags {
  document: FlagsDocument;
  /** Strong ETag: the hash of the document's canonical JSON, quoted. */
  etag: string;
}

export function isValidValue(definition: Pick<FlagDefinition, 'kind' | 'variants'>, value: unknown): value is FlagValue {
  return definition.kind === 'boolean' ? typeof value === 'boolean' : typeof value === 'string' && definition.variants.includes(value);
}

/**
 * Tenant override, else the default of the tenant's plan, else the platform default. A value that
 * no longer fits the definition (a variant since removed) is skipped, never delivered.
 */
export function effectiveValue(definition: FlagDefinition, plan: string, override: FlagValue | undefined): FlagValue {
  if (override !== undefined && isValidValue(definition, override)) return override;
  const planDefault = Object.hasOwn(definition.planDefaults, plan) ? definition.planDefaults[plan] : undefined;
  if (planDefault !== undefined && isValidValue(definition, planDefault)) return planDefault;
  return definition.defaultValue;
}

export const switchKey = (name: string, tenantId: string | null) => `${name}:${tenantId ?? '*'}`;

export function affectingSwitches(snapshot: FlagSnapshot, tenantId: string): AffectingSwitch[] {
  return snapshot.switches
    .filter((s) => s.tenantId === null || s.tenantId === tenantId)
    .map((s) => ({ name: s.name, scope: s.tenantId === null ? ('global' as const) : ('tenant' as const), channel: s.channel }))
    .sort((a, b) => canonicalJson(a).localeCompare(canonicalJson(b)));
}

export function buildDocument(snapshot: FlagSnapshot, tenantId: string, plan: string, overrides: ReadonlyMap<string, FlagValue>): FlagsDocument {
  const flags: Record<string, FlagValue> = {};
  for (const definition of snapshot.definitions) flags[definition.key] = effectiveValue(definition, plan, overrides.get(definition.key));
  return { tenant_id: tenantId, flags, switches: affectingSwitches(snapshot, tenantId) };
}

export function etagOf(document: FlagsDocument): string {
  return `"${createHash('sha256').update(canonicalJson(document)).digest('base64url')}"`;
}

function indexSwitches(switches: readonly TrippedSwitch[]): Map<string, TrippedSwitch[]> {
  const index = new Map<string, TrippedSwitch[]>();
  for (const s of switches) {
    const key = switchKey(s.name, s.tenantId);
    index.set(key, [...(index.get(key) ?? []), s]);
  }
  return index;
}

async function loadSnapshot(tx: Tx): Promise<Omit<FlagSnapshot, 'loadedAt'>> {
  const [flags, switches] = [await listAllFlags(tx), await listTrippedSwitches(tx)];
  const tripped = switches
    .map((row) => ({ name: row.name, tenantId: row.tenant_id, channel: row.channel }))
    .sort((a, b) => canonicalJson(a).localeCompare(canonicalJson(b)));
  return {
    definitions: flags.map((row) => ({ key: row.key, kind: row.kind, variants: row.variants, defaultValue: row.default_value, planDefaults: row.plan_defaults })),
    switches: tripped,
    switchIndex: indexSwitches(tripped),
  };
}

/**
 * The tenants whose documents differ between two snapshots: null for every tenant (a definition
 * or a global switch changed), else the tenants whose own switches changed.
 */
function affectedTenants(before: FlagSnapshot, after: Omit<FlagSnapshot, 'loadedAt'>): Set<string> | null {
  if (canonicalJson(before.definitions) !== canonicalJson(after.definitions)) return null;
  const keys = (list: readonly TrippedSwitch[]) => new Map(list.map((s) => [canonicalJson(s), s]));
  const [was, is] = [keys(before.switches), keys(after.switches)];
  const changed = [...[...was].filter(([k]) => !is.has(k)), ...[...is].filter(([k]) => !was.has(k))].map(([, s]) => s);
  if (changed.some((s) => s.tenantId === null)) return null;
  return new Set(changed.map((s) => s.tenantId!));
}

interface CachedDocument {
  value: DeliveredFlags;
  freshUntil: number;
}

export interface FlagCacheOptions {
  /** How long a copy is trusted without a notification (FLAG_CACHE_TTL_MS). */
  ttlMs: number;
  maxDocuments?: number;
}

export class FlagCache {
  readonly ttlMs: number;
  readonly #maxDocuments: number;
  #snapshot: FlagSnapshot | null = null;
  /** Reloads asked for, the last one the snapshot satisfies, and the load in progress (coalesced). */
  #requested = 0;
  #satisfied = 0;
  #loading: Promise<void> | null = null;
  readonly #documents = new Map<string, CachedDocument>();
  readonly #pending = new Map<string, Promise<DeliveredFlags | null>>();
  /** Bumped whenever documents are dropped: a load that began before must not be cached. */
  #documentsGeneration = 0;
  readonly #listeners = new Set<(tenantId: string | null) => void>();
  #timer: NodeJS.Timeout | null = null;
  #unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: Database,
    private readonly tenants: TenantDirectory,
    private readonly log: Logger,
    options: FlagCacheOptions,
  ) {
    this.ttlMs = options.ttlMs;
    this.#maxDocuments = options.maxDocuments ?? 10_000;
  }

  /**
   * Subscribes to the channel, then loads the first snapshot (in that order, so no change can fall
   * between them) and starts the backstop timer. `listen: false` leaves the TTL as the only path.
   */
  async start(options: { listen: boolean } = { listen: true }): Promise<void> {
    if (options.listen) {
      this.#unlisten = await this.db.listen(
        FLAGS_CHANNEL,
        (payload) => void this.apply(decodeFlagChange(payload)),
        // Notifications may have been missed while the listener was down: drop every tenant's
        // document (an override's change names only its tenant) and reload the snapshot.
        () => {
          this.#changed(null);
          void this.apply({ reload: true, tenantId: null });
        },
      );
    }
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh().catch((error) => this.log.warn({ err: error }, 'flag cache refresh failed')), this.ttlMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
    const unlisten = this.#unlisten;
    this.#unlisten = null;
    await unlisten?.();
    await this.#loading?.catch(() => undefined);
  }

  /** The current snapshot; start() loads the first one. */
  snapshot(): FlagSnapshot {
    if (!this.#snapshot) throw new Error('the flag cache is not started');
    return this.#snapshot;
  }

  /**
   * Reloads the snapshot from a read that starts after this call: a reload asked for while another
   * runs waits for it and then runs once more (however many were asked for meanwhile).
   */
  async refresh(): Promise<FlagSnapshot> {
    const wanted = ++this.#requested;
    while (this.#satisfied < wanted) {
      this.#loading ??= this.#reload().finally(() => (this.#loading = null));
      await this.#loading;
    }
    return this.#snapshot!;
  }

  async #reload(): Promise<void> {
    const target = this.#requested;
    this.#install(await this.db.withPlatform(loadSnapshot));
    this.#satisfied = Math.max(this.#satisfied, target);
  }

  #install(loaded: Omit<FlagSnapshot, 'loadedAt'>) {
    const before = this.#snapshot;
    this.#snapshot = { ...loaded, loadedAt: Date.now() };
    if (!before) return;
    const affected = affectedTenants(before, loaded);
    if (affected === null) this.#changed(null);
    else for (const tenantId of affected) this.#changed(tenantId);
  }

  /** Drops the documents a change made stale and tells the subscribers (open streams). */
  #changed(tenantId: string | null) {
    this.#documentsGeneration++;
    if (tenantId === null) {
      this.#documents.clear();
      this.#pending.clear();
    } else {
      this.#documents.delete(tenantId);
      this.#pending.delete(tenantId);
    }
    for (const listener of this.#listeners) {
      try {
        listener(tenantId);
      } catch (error) {
        this.log.warn({ err: error }, 'flag change listener failed');
      }
    }
  }

  /**
   * Applies a change on this node: on receipt of a notification, and right after the commit on the
   * node that made it (so its own next read already sees it).
   */
  async apply(change: FlagChange): Promise<void> {
    try {
      // A reload tells the subscribers itself, for the tenants whose documents it changed.
      if (change.reload) await this.refresh();
      else this.#changed(change.tenantId);
    } catch (error) {
      this.log.warn({ err: error }, 'flag change could not be applied; the TTL backstop will');
    }
  }

  /** Calls listener(tenantId) after every change, null meaning every tenant; returns the unsubscribe. */
  onChange(listener: (tenantId: string | null) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** A tenant's effective flags with their ETag; null when there is no such tenant. */
  document(tenantId: string, now = Date.now()): Promise<DeliveredFlags | null> {
    const cached = this.#documents.get(tenantId);
    if (cached && cached.freshUntil > now) return Promise.resolve(cached.value);
    const pending = this.#pending.get(tenantId);
    if (pending) return pending;
    const generation = this.#documentsGeneration;
    const load = this.#loadDocument(tenantId).then((value) => {
      if (value && generation === this.#documentsGeneration) {
        if (this.#documents.size >= this.#maxDocuments) this.#documents.clear();
        this.#documents.set(tenantId, { value, freshUntil: Date.now() + this.ttlMs });
      }
      return value;
    });
    const settled = load.finally(() => {
      if (this.#pending.get(tenantId) === settled) this.#pending.delete(tenantId);
    });
    this.#pending.set(tenantId, settled);
    return settled;
  }

  async #loadDocument(tenantId: string): Promise<DeliveredFlags | null> {
    // A bare tenant id: the flags are the tenant's as a whole, whoever asks (an application, a job).
    const tenant = await this.db.withWholeTenant(tenantId, async (tx) => {
      const plan = (await this.tenants.findById(tx, tenantId))?.plan;
      if (plan === undefined) return null;
      const overrides = await listTenantOverrides(tx);
      return { plan, overrides: new Map(overrides.map((row) => [row.flag_key, row.value])) };
    });
    if (!tenant) return null;
    const document = buildDocument(this.snapshot(), tenantId, tenant.plan, tenant.overrides);
    return { document, etag: etagOf(document) };
  }

  /** The value of one flag for a tenant (server-side checks in other modules). */
  async value(tenantId: string, key: string): Promise<FlagValue | undefined> {
    return (await this.document(tenantId))?.document.flags[key];
  }
}
