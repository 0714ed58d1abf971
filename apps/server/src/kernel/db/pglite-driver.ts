import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';

/**
 * A Kysely dialect over one PGlite instance that hands its single connection to one user at a time.
 *
 * Kysely's bundled PGlite driver shares the connection between concurrent callers, so a query
 * from one request could run inside another request's open transaction, with that request's
 * tenant setting. Here a caller holds the connection from acquire to release; everyone else
 * waits in line, exactly like a pool of size one.
 */
export class PGliteDialect implements Dialect {
  constructor(
    private readonly pglite: PGlite,
    private readonly lock: ConnectionLock,
    private readonly queryTimeoutMs: number,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new ExclusivePGliteDriver(this.pglite, this.lock, this.queryTimeoutMs);
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

export class QueryTimeoutError extends Error {
  readonly code = 'query-timeout';
}

/** First come, first served ownership of the one PGlite connection. */
export class ConnectionLock {
  #queue: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const previous = this.#queue;
    this.#queue = new Promise((resolve) => (release = resolve));
    await previous;
    return release;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

class ExclusivePGliteDriver implements Driver {
  #connection: PGliteConnection;

  constructor(private readonly pglite: PGlite, private readonly lock: ConnectionLock, queryTimeoutMs: number) {
    this.#connection = new PGliteConnection(pglite, queryTimeoutMs);
  }

  async init() {
    await this.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#connection.release = await this.lock.acquire();
    return this.#connection;
  }

  async releaseConnection(connection: DatabaseConnection) {
    (connection as PGliteConnection).release?.();
  }

  async beginTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async destroy() {
    if (!this.pglite.closed) await this.pglite.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  release: (() => void) | undefined;

  constructor(private readonly pglite: PGlite, private readonly queryTimeoutMs: number) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // PGlite ignores statement_timeout, so the limit is enforced here: a wait past it is cut short,
    // and a statement that kept the (single-threaded) engine busy past it fails when it returns,
    // so its transaction rolls back exactly as on the server.
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueryTimeoutError('query timed out')), this.queryTimeoutMs);
    });
    try {
      const result = await Promise.race([this.#run<R>(compiled), timeout]);
      if (performance.now() - started > this.queryTimeoutMs) throw new QueryTimeoutError('query timed out');
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  async #run<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (compiled.parameters.length === 0 && compiled.sql.includes(';')) {
      // Several statements in one call (transaction set-up): the simple protocol, like `pg` does.
      const results = await this.pglite.exec(compiled.sql);
      return { rows: (results.at(-1)?.rows ?? []) as R[] };
    }
    const result = await this.pglite.query<R>(compiled.sql, compiled.parameters as unknown[]);
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }

  // eslint-disable-next-line require-yield -- PGlite has no cursors to stream from.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming is not supported on the embedded database.');
  }
}
