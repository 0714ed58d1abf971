import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { scopeOf, type RequestContext, type TenantScope } from '../context.ts';
import type { Logger } from '../log.ts';
import type { DB } from './schema.ts';
import { ConnectionLock, PGliteDialect } from './pglite-driver.ts';

/** A query handle bound to one open transaction with its plane role and tenant set. */
export type Tx = Kysely<DB>;

export type Backend = 'pglite' | 'postgres';

/** The result of a raw statement, in the shape `pg` gives (the job queue speaks it). */
export interface RawResult {
  rows: Record<string, unknown>[];
}

export type RawExecute = (text: string, values?: unknown[]) => Promise<RawResult | RawResult[]>;

export interface Database {
  readonly backend: Backend;
  /**
   * CAUTION: the owner connection (migrations, job queue bookkeeping, tests, commands).
   * It is not subject to RLS; request handling never uses it.
   */
  readonly owner: Kysely<DB>;
  /**
   * Runs fn in one transaction as the app role in the caller's tenant, limited to the units the
   * route's permission reaches (unit-scoped rows beyond them stay invisible): the way requests
   * reach tenant data. A context without a tenant is refused (403).
   */
  withTenant<T>(ctx: RequestContext, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * The same in every unit of a tenant, for work no caller's unit reach bounds: jobs, sign-in
   * before there is a caller, provisioning, key checks, a user's own rows, tenant-wide settings.
   */
  withWholeTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs fn in one transaction as the platform role (tenants, operators, platform audit chain). A
   * platform action that must change one tenant's rows atomically with its own (provisioning,
   * suspension, an operator's change recorded in the tenant's audit chain) ends in that tenant
   * with `continueInTenant`.
   */
  withPlatform<T>(fn: (tx: Tx, transaction: PlatformTransaction) => Promise<T>): Promise<T>;
  /** Raw SQL on the owner connection, every statement's rows returned (the job queue's adapter). */
  ownerExecute: RawExecute;
  /** CAUTION: one dedicated owner connection for fn (session-level locks, migrations). */
  withOwnerSession<T>(fn: (execute: RawExecute) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel; returns the unsubscribe function. A lost connection is opened
   * again, with backoff, until it succeeds; onReconnect is called when the loss is noticed and again
   * once the channel is heard again, because notifications sent in between are missed.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PlatformTransaction {
  /**
   * CAUTION: switches this platform transaction into one tenant's context (every unit) for the
   * rest of it: everything after runs as the app role in that tenant, which cannot switch back,
   * so the platform's own rows are written first.
   */
  continueInTenant(tenantId: string): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  migrationDatabaseUrl?: string | undefined;
  /** Directory of the embedded database; memory when absent. */
  dataDir?: string | undefined;
  /**
   * What a new embedded database starts from: a tarball made by PGlite's dumpDataDir(), so that
   * tests can start from an already migrated database; an empty, freshly initialised one when absent.
   */
  loadDataDir?: Blob | undefined;
  poolSize?: number;
  queryTimeoutMs: number;
  /** Where lost connections are reported; nowhere when absent. */
  log?: Logger | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT8_OID = 20;

/**
 * Runs fn in the plane a tenant id names: that tenant's context (every unit), or the platform's
 * for null (platform staff, whose rows have no tenant).
 */
export function inPlane<T>(db: Pick<Database, 'withWholeTenant' | 'withPlatform'>, tenantId: string | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return tenantId ? db.withWholeTenant(tenantId, fn) : db.withPlatform(fn);
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Class 08 (connection exception), and the server shutting down, crashing or still starting up. */
const CONNECTION_SQLSTATE = /^(08...|57P0[123])$/;
const CONNECTION_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** What the driver says when the socket went away under it, or a broken client is used again. */
const CONNECTION_MESSAGE = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * Whether an error means the database could not be reached or dropped the connection (a restart, a
 * failover, a terminated backend), rather than refusing a statement: the request may succeed later.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code))) return true;
  return CONNECTION_MESSAGE.test(error.message) || (error instanceof AggregateError && error.errors.some(isConnectionError));
}

/** app.unit_ids: '*' for every unit, else the comma-separated unit ids (none: no unit rows). */
function unitSetting(units: TenantScope['units']): string {
  if (units === 'all') return '*';
  const ids = [...units];
  if (!ids.every((id) => UUID.test(id))) throw new Error('unit ids must be UUIDs');
  return ids.join(',');
}

/**
 * The statements that open a scoped transaction, sent as one round trip. The ids are inlined (the
 * simple protocol takes no parameters), so they must be validated UUIDs.
 */
function openTransaction(role: 'tsv_app' | 'tsv_platform', scope: TenantScope | null, queryTimeoutMs: number): string {
  const tenantId = scope === null ? '' : scope.tenantId;
  const units = scope === null ? '' : unitSetting(scope.units);
  if (scope !== null && !UUID.test(tenantId)) throw new Error('tenant id must be a UUID');
  return [
    'begin',
    `set local role ${role}`,
    `set local statement_timeout = ${Math.trunc(queryTimeoutMs)}`,
    `select set_config('app.tenant_id', '${tenantId}', true), set_config('app.unit_ids', '${units}', true)`,
  ].join('; ');
}

/**
 * Runs fn in a transaction opened by `opening`. A connection lost before the transaction was open
 * (a pooled connection the server had ended, the server restarting) is tried once more on a fresh
 * one: fn has not run, and the opening changes nothing, so the retry cannot do anything twice.
 */
async function scoped<T>(db: Kysely<DB>, opening: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let opened = false;
  try {
    return await inTransaction(db, opening, fn, () => (opened = true));
  } catch (error) {
    if (opened || !isConnectionError(error)) throw error;
    return inTransaction(db, opening, fn, () => undefined);
  }
}

async function inTransaction<T>(db: Kysely<DB>, opening: string, fn: (tx: Tx) => Promise<T>, onOpened: () => void): Promise<T> {
  return db.connection().execute(async (connection) => {
    await connection.executeQuery(CompiledQuery.raw(opening));
    onOpened();
    let result: T;
    try {
      result = await fn(connection);
    } catch (error) {
      await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
      throw error;
    }
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'));
    } catch (error) {
      await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
      throw error;
    }
    return result;
  });
}

async function continueInTenant(tx: Tx, tenantId: string): Promise<void> {
  if (!UUID.test(tenantId)) throw new Error('tenant id must be a UUID');
  // One round trip: set_config('role', …) is SET LOCAL ROLE in function form.
  await sql`select set_config('app.tenant_id', ${tenantId}, true), set_config('app.unit_ids', '*', true), set_config('role', 'tsv_app', true)`.execute(tx);
}

/** A platform transaction's fn, handed the way to continue in a tenant's context. */
function platformWork<T>(fn: (tx: Tx, transaction: PlatformTransaction) => Promise<T>): (tx: Tx) => Promise<T> {
  return (tx) => fn(tx, { continueInTenant: (tenantId) => continueInTenant(tx, tenantId) });
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? createServerDatabase(options) : createEmbeddedDatabase(options);
}

async function createEmbeddedDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.dataDir) await fs.mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    dataDir: options.dataDir ? path.join(options.dataDir, 'pglite') : undefined,
    loadDataDir: options.loadDataDir,
    extensions: { vector },
    parsers: { [INT8_OID]: (value: string) => Number(value) },
  });
  const lock = new ConnectionLock();
  const kysely = new Kysely<DB>({ dialect: new PGliteDialect(pglite, lock, options.queryTimeoutMs) });
  const timeout = options.queryTimeoutMs;
  const execute: RawExecute = async (text, values) => {
    if (values && values.length > 0) return { rows: (await pglite.query(text, values)).rows as Record<string, unknown>[] };
    const results = await pglite.exec(text);
    return results.length === 1 ? { rows: results[0]!.rows } : results.map((r) => ({ rows: r.rows }));
  };
  return {
    backend: 'pglite',
    owner: kysely,
    withTenant: async (ctx, fn) => scoped(kysely, openTransaction('tsv_app', scopeOf(ctx), timeout), fn),
    withWholeTenant: async (tenantId, fn) => scoped(kysely, openTransaction('tsv_app', { tenantId, units: 'all' }, timeout), fn),
    withPlatform: (fn) => scoped(kysely, openTransaction('tsv_platform', null, timeout), platformWork(fn)),
    ownerExecute: (text, values) => lock.run(() => execute(text, values)),
    withOwnerSession: (fn) => lock.run(() => fn(execute)),
    listen: sharedListeners(async (channel, onMessage) => {
      const unlisten = await lock.run(() => pglite.listen(channel, onMessage));
      return () => lock.run(() => unlisten());
    }),
    close: async () => {
      await kysely.destroy();
    },
  };
}

/** How long opening a connection may take before the request gets its 503 (a server gone silent). */
const CONNECT_TIMEOUT_MS = 5_000;

function pool(connectionString: string, max: number, log: Logger | undefined): pg.Pool {
  const created = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
    } as pg.CustomTypesConfig,
  });
  // An idle client losing its server must not crash the process; the pool replaces it.
  created.on('error', (error) => log?.warn({ err: error }, 'idle database connection lost'));
  // Neither must a checked-out one: pg-pool listens for its errors only while it is idle. Its query
  // in flight fails with the error (the request answers 503), and the pool discards it on release.
  created.on('connect', (client) => client.on('error', () => undefined));
  return created;
}

async function rawQuery(client: pg.Pool | pg.PoolClient, text: string, values?: unknown[]) {
  const result = (await client.query(text, values)) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result.map((r) => ({ rows: r.rows })) : { rows: result.rows };
}

interface Subscriber {
  onMessage(payload: string): void;
  onReconnect?(): void;
}

/**
 * One LISTEN per channel however many parts of the process subscribe (the session cache and the
 * API-key cache both follow the sessions channel): each subscriber hears every message and every
 * reconnect, and the connection closes with the last one.
 */
function sharedListeners(listen: Database['listen']): Database['listen'] {
  const channels = new Map<string, { subscribers: Set<Subscriber>; opened: Promise<() => Promise<void>> }>();
  return async (channel, onMessage, onReconnect) => {
    let shared = channels.get(channel);
    if (!shared) {
      const subscribers = new Set<Subscriber>();
      const opened = listen(
        channel,
        (payload) => subscribers.forEach((subscriber) => subscriber.onMessage(payload)),
        () => subscribers.forEach((subscriber) => subscriber.onReconnect?.()),
      );
      shared = { subscribers, opened };
      channels.set(channel, shared);
    }
    const current = shared;
    const subscriber: Subscriber = { onMessage, onReconnect };
    current.subscribers.add(subscriber);
    let unlisten: () => Promise<void>;
    try {
      unlisten = await current.opened;
    } catch (error) {
      current.subscribers.delete(subscriber);
      if (channels.get(channel) === current) channels.delete(channel);
      throw error;
    }
    return async () => {
      if (!current.subscribers.delete(subscriber) || current.subscribers.size > 0) return;
      if (channels.get(channel) === current) channels.delete(channel);
      await unlisten();
    };
  };
}

/** A lost listener tries again after this, doubling up to the maximum, until it is back. */
const LISTEN_RETRY_FIRST_MS = 100;
const LISTEN_RETRY_MAX_MS = 5_000;

async function createServerDatabase(options: DatabaseOptions): Promise<Database> {
  const appPool = pool(options.databaseUrl!, options.poolSize ?? 10, options.log);
  const ownerUrl = options.migrationDatabaseUrl ?? options.databaseUrl!;
  const ownerPool = pool(ownerUrl, 4, options.log);
  const app = new Kysely<DB>({ dialect: new PostgresDialect({ pool: appPool }) });
  const owner = new Kysely<DB>({ dialect: new PostgresDialect({ pool: ownerPool }) });
  const timeout = options.queryTimeoutMs;
  /** The unsubscribe functions of the open listeners, which close() calls. */
  const subscriptions = new Set<() => Promise<void>>();
  return {
    backend: 'postgres',
    owner,
    withTenant: async (ctx, fn) => scoped(app, openTransaction('tsv_app', scopeOf(ctx), timeout), fn),
    withWholeTenant: async (tenantId, fn) => scoped(app, openTransaction('tsv_app', { tenantId, units: 'all' }, timeout), fn),
    withPlatform: (fn) => scoped(app, openTransaction('tsv_platform', null, timeout), platformWork(fn)),
    ownerExecute: (text, values) => rawQuery(ownerPool, text, values),
    withOwnerSession: async (fn) => {
      const client = await ownerPool.connect();
      try {
        return await fn((text, values) => rawQuery(client, text, values));
      } finally {
        client.release();
      }
    },
    listen: sharedListeners(async (channel, onMessage, onReconnect) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error('invalid channel name');
      let client: pg.Client | null = null;
      let stopped = false;
      /** Opens a connection listening on the channel; when it is lost, tells the owner and opens another. */
      const open = async (): Promise<void> => {
        const next = new pg.Client({ connectionString: options.databaseUrl });
        let ended = false;
        /** Ends the connection once; false if it was ended already. */
        const end = () => {
          if (ended) return false;
          ended = true;
          void next.end().catch(() => undefined);
          return true;
        };
        const onLost = (error?: Error) => {
          // A terminated backend reports an error and then the end of its socket: one loss.
          if (!end() || client !== next || stopped) return;
          client = null;
          options.log?.warn({ err: error, channel }, 'database listener lost; reconnecting');
          // Notifications are missed from now on until the channel is heard again.
          onReconnect?.();
          void reopen();
        };
        next.on('error', onLost);
        next.on('end', () => onLost());
        next.on('notification', (message) => {
          if (message.channel === channel) onMessage(message.payload ?? '');
        });
        try {
          await next.connect();
          await next.query(`listen ${channel}`);
        } catch (error) {
          end();
          throw error;
        }
        if (stopped) return void end();
        client = next;
      };
      const reopen = async () => {
        for (let attempt = 0; !stopped; attempt++) {
          await sleep(Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_FIRST_MS * 2 ** attempt), undefined, { ref: false });
          if (stopped) return;
          try {
            await open();
          } catch (error) {
            options.log?.warn({ err: error, channel, attempt }, 'database listener could not reconnect; retrying');
            continue;
          }
          if (stopped) return;
          options.log?.info({ channel }, 'database listener reconnected');
          // Whatever was cached while the channel was deaf may have missed its notification.
          onReconnect?.();
          return;
        }
      };
      await open();
      const unlisten = async () => {
        stopped = true;
        subscriptions.delete(unlisten);
        const current = client;
        client = null;
        await current?.end().catch(() => undefined);
      };
      subscriptions.add(unlisten);
      return unlisten;
    }),
    close: async () => {
      for (const unlisten of subscriptions) await unlisten();
      await app.destroy();
      await owner.destroy();
    },
  };
}
