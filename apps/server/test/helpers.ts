import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { sql, type Selectable } from 'kysely';
import pg from 'pg';
import { loadCheckpointKeys } from '../src/kernel/audit/checkpoints.ts';
import { verifyAuditChains, type VerificationReport, type VerifyOptions } from '../src/kernel/audit/verify.ts';
import { loadConfig, type Config } from '../src/kernel/config.ts';
import { createDatabase, type Database } from '../src/kernel/db/database.ts';
import type { AuditEventsTable } from '../src/kernel/db/schema.ts';
import { createLogger } from '../src/kernel/log.ts';
import type { DefaultTenantRole } from '../src/kernel/auth/permissions.ts';
import { assignDefaultRole } from '../src/modules/access/index.ts';
import { seedDemo, DEMO_TENANTS } from '../src/seed.ts';
import { POLICY_SECTIONS, prepareDatabase, startPlatform, type Running } from '../src/start.ts';
import { loadPolicy, withPolicyChanges } from '../src/kernel/policy.ts';
import type { ProductPolicy } from '../src/modules/index.ts';

export const TEST_PASSWORD = 'Test-Demo-Passw0rd!';

/** Settings of the product policy a test changes, by section. */
export type PolicyChanges = { [Section in keyof ProductPolicy]?: Partial<ProductPolicy[Section]> };

/**
 * A database of its own for one test file, prepared as the platform prepares its database at start
 * (migrations, permission catalog, job queue): an in-memory PGlite by default, or, when DATABASE_URL
 * (or `server`) names a PostgreSQL server, a new database created on it (dropped at the end).
 * It is a copy of the test template (see templateKey); `fromScratch` prepares an empty database
 * instead, for the test that the template is what the migrations make.
 */
export async function createTestDatabase(
  options: { queryTimeoutMs?: number; server?: string | undefined; fromScratch?: boolean } = {},
): Promise<{ db: Database; url: string | undefined; drop(): Promise<void> }> {
  const { queryTimeoutMs = 5_000, server = process.env.DATABASE_URL, fromScratch = false } = options;
  if (!server) {
    const db = await createDatabase({ queryTimeoutMs, loadDataDir: fromScratch ? undefined : await embeddedTemplate() });
    if (fromScratch) await prepareDatabase(db);
    return { db, url: undefined, drop: () => db.close() };
  }
  const name = `tsv_test_${randomBytes(6).toString('hex')}`;
  if (fromScratch) await onServer(server, (admin) => admin.query(`create database ${name}`));
  else await copyServerTemplate(server, name);
  const url = databaseUrl(server, name);
  const db = await createDatabase({ databaseUrl: url, queryTimeoutMs, poolSize: 10 });
  if (fromScratch) await prepareDatabase(db);
  return {
    db,
    url,
    async drop() {
      await db.close();
      await onServer(server, (admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/*
 * The test template: what prepareDatabase makes of an empty database, built once and copied for
 * every test file instead of migrating each one from scratch (a fresh embedded cluster alone takes
 * seconds). It is named by templateKey, so a change to anything it is made from builds a new one.
 */

const SERVER_SOURCES = new URL('../src/', import.meta.url);
const LOCKFILE = new URL('../../../package-lock.json', import.meta.url);
/** Embedded templates, as dumpDataDir() tarballs, kept between runs of the suite in this checkout. */
const EMBEDDED_TEMPLATES = fileURLToPath(new URL('../../../node_modules/.cache/tsv-test-templates/', import.meta.url));
/** Server templates kept on a PostgreSQL server, which other checkouts of the project may share. */
const SERVER_TEMPLATES_KEPT = 5;

let computedKey: Promise<string> | undefined;

/**
 * A hash of what the template is made of: every file of the server but its tests (the migrations,
 * the code that applies them and prepares the catalog and the job queue) and the installed
 * dependencies (PGlite's data format, the job queue's own schema).
 */
function templateKey(): Promise<string> {
  computedKey ??= (async () => {
    const hash = createHash('sha256');
    const root = fileURLToPath(SERVER_SOURCES);
    const files = (await fs.readdir(root, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
      .map((entry) => path.join(entry.parentPath, entry.name))
      .sort();
    for (const file of files) hash.update(path.relative(root, file)).update('\0').update(await fs.readFile(file)).update('\0');
    hash.update(await fs.readFile(LOCKFILE));
    return hash.digest('hex').slice(0, 16);
  })();
  return computedKey;
}

/** The embedded template's tarball, built and kept on first use. */
async function embeddedTemplate(): Promise<Blob> {
  const file = path.join(EMBEDDED_TEMPLATES, `${await templateKey()}.tgz`);
  const kept = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (kept) return new Blob([kept]);
  const tarball = await buildEmbeddedTemplate();
  await fs.mkdir(EMBEDDED_TEMPLATES, { recursive: true });
  // Written aside and renamed into place: a test file starting meanwhile reads all of it or none.
  // Test files that start together may each build it; they build the same template.
  const partial = `${file}.${process.pid}.partial`;
  await fs.writeFile(partial, Buffer.from(await tarball.arrayBuffer()));
  await fs.rename(partial, file);
  for (const name of await fs.readdir(EMBEDDED_TEMPLATES)) {
    if (name.endsWith('.tgz') && name !== path.basename(file)) await fs.rm(path.join(EMBEDDED_TEMPLATES, name), { force: true });
  }
  return tarball;
}

async function buildEmbeddedTemplate(): Promise<Blob> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsv-template-'));
  try {
    const db = await createDatabase({ dataDir, queryTimeoutMs: 5_000 });
    try {
      await prepareDatabase(db);
    } finally {
      await db.close();
    }
    // createDatabase keeps the embedded cluster in <dataDir>/pglite; opened again to dump it.
    const pglite = await PGlite.create({ dataDir: path.join(dataDir, 'pglite'), extensions: { vector } });
    try {
      return await pglite.dumpDataDir('gzip');
    } finally {
      await pglite.close();
    }
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Creates database `name` on the server as a copy of the server template, building the template
 * first when the server has none for this key (or it was dropped meanwhile to make room).
 */
async function copyServerTemplate(server: string, name: string): Promise<void> {
  const template = `tsv_template_${await templateKey()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await onServer(server, (admin) => admin.query(`create database ${name} template ${template}`));
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNDEFINED_DATABASE || attempt === 3) throw error;
    }
    await buildServerTemplate(server, template);
  }
}

const UNDEFINED_DATABASE = '3D000';
const DUPLICATE_DATABASE = '42P04';

/**
 * Prepares the template under a name of its own and renames it when done: PostgreSQL copies only a
 * database nobody is connected to, and no test file may copy a half-prepared one. Test files that
 * start together may each build it; the first rename wins and the others drop theirs.
 */
async function buildServerTemplate(server: string, template: string): Promise<void> {
  const building = `${template}_${randomBytes(4).toString('hex')}`;
  await onServer(server, (admin) => admin.query(`create database ${building}`));
  try {
    const db = await createDatabase({ databaseUrl: databaseUrl(server, building), queryTimeoutMs: 5_000 });
    try {
      await prepareDatabase(db);
    } finally {
      await db.close();
    }
    await onServer(server, (admin) => admin.query(`alter database ${building} rename to ${template}`));
  } catch (error) {
    await onServer(server, (admin) => admin.query(`drop database if exists ${building} with (force)`));
    if ((error as { code?: unknown }).code === DUPLICATE_DATABASE) return;
    throw error;
  }
  // The newest templates stay for the checkouts that may still use them; a checkout whose template
  // was dropped builds it again.
  await onServer(server, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname ~ '^tsv_template_[0-9a-f]{16}$' order by oid desc offset ${SERVER_TEMPLATES_KEPT}`,
    );
    for (const { datname } of rows) await admin.query(`drop database if exists ${datname}`);
  });
}

async function onServer<T>(server: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestPlatform {
  running: Running;
  app: NonNullable<Running['app']>;
  db: Database;
  /** The test database's own URL on PostgreSQL; undefined on PGlite. */
  databaseUrl: string | undefined;
  config: Config;
  tenants: Record<string, { id: string; slug: string }>;
  /** Logs in over HTTP and returns the bearer header and tokens. */
  login(email: string, tenant?: string, password?: string): Promise<Session>;
  /**
   * Adds a user to a demo tenant with a default role held tenant-wide; returns its id. The address
   * is verified unless `verified: false` (FR-VER-001).
   */
  addUser(tenant: string, email: string, role: DefaultTenantRole, options?: { password?: string; status?: 'active' | 'disabled'; verified?: boolean }): Promise<string>;
  /** Adds a verified platform staff member with a platform role; returns its id. */
  addStaff(email: string, platformRole: 'operator' | 'support' | 'auditor'): Promise<string>;
  /** verifyAuditChains with the checkpoint keys of this platform's configuration (and data directory). */
  verifyAudit(options?: Partial<VerifyOptions>): Promise<VerificationReport>;
  close(): Promise<void>;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  headers: { authorization: string };
}

/**
 * The whole platform (API and worker) on a fresh database, seeded with the demo tenants
 * acme and globex. Requests go through `app.inject`. `server` picks another PostgreSQL server
 * than DATABASE_URL's.
 */
export async function buildTestPlatform(
  env: Record<string, string> = {},
  options: { worker?: boolean; server?: string; policy?: PolicyChanges } = {},
): Promise<TestPlatform> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsv-test-'));
  const config = loadConfig({
    ENVIRONMENT: 'test',
    DATA_DIR: dataDir,
    DEMO_PASSWORD: TEST_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_URL: 'http://localhost:3000',
    // Tests sign in with passwords only, whatever ENVIRONMENT they set; the step-up tests turn it on.
    STEP_UP_ENFORCED: 'false',
    ...env,
  });
  const database = await createTestDatabase({ queryTimeoutMs: config.queryTimeoutMs, server: options.server });
  // Failed sign-ins answer at once; the lockout tests measure the padding with a value of their own.
  const changes: PolicyChanges = { ...options.policy, identity: { login_failure_answer_ms: 0, ...options.policy?.identity } };
  const policy = withPolicyChanges(loadPolicy(config.productPolicyFile, POLICY_SECTIONS), changes, POLICY_SECTIONS);
  const running = await startPlatform(config, createLogger(config.logLevel), { api: true, worker: options.worker ?? true, db: database.db, policy });
  await seedDemo(running);
  const tenants: TestPlatform['tenants'] = {};
  for (const demo of DEMO_TENANTS) {
    const row = await database.db.owner.selectFrom('tenants').select(['id', 'slug']).where('slug', '=', demo.slug).executeTakeFirstOrThrow();
    tenants[demo.slug] = row;
  }
  const app = running.app!;
  return {
    running,
    app,
    db: database.db,
    databaseUrl: database.url,
    config,
    tenants,
    async login(email, tenant, password = TEST_PASSWORD) {
      const response = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...(tenant ? { tenant } : {}) } });
      if (response.statusCode !== 200) throw new Error(`login ${email} failed: ${response.statusCode} ${response.body}`);
      const body = response.json() as { access_token: string; refresh_token: string };
      return { accessToken: body.access_token, refreshToken: body.refresh_token, headers: { authorization: `Bearer ${body.access_token}` } };
    },
    async addUser(tenant, email, role, options = {}) {
      const tenantId = tenants[tenant]!.id;
      const hash = await running.platform.passwords.hash(options.password ?? TEST_PASSWORD);
      return database.db.withWholeTenant(tenantId, async (tx) => {
        const { id } = await tx
          .insertInto('users')
          .values({ tenant_id: tenantId, email, password_hash: hash, status: options.status ?? 'active', email_verified_at: options.verified === false ? null : new Date() })
          .returning('id')
          .executeTakeFirstOrThrow();
        await assignDefaultRole(tx, tenantId, id, role);
        return id;
      });
    },
    async addStaff(email, platformRole) {
      const hash = await running.platform.passwords.hash(TEST_PASSWORD);
      return database.db.withPlatform(async (tx) => {
        const row = await tx
          .insertInto('users')
          .values({ tenant_id: null, email, platform_role: platformRole, password_hash: hash, email_verified_at: new Date() })
          .returning('id')
          .executeTakeFirstOrThrow();
        return row.id;
      });
    },
    async verifyAudit(options = {}) {
      // Loaded on every call: a test may have generated the key in the data directory meanwhile.
      return verifyAuditChains(database.db, { keys: await loadCheckpointKeys(config), ...options });
    },
    async close() {
      await running.stop();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The SQLSTATE a statement fails with, or null when it succeeds. */
export async function sqlstate(run: () => Promise<unknown>): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (error) {
    return String((error as { code?: unknown }).code ?? `no SQLSTATE: ${(error as Error).message}`);
  }
}

/** Polls until check() is truthy (jobs, notifications); fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The attack signed checkpoints exist for (FR-AUD-002): with the owner's credentials, switch the
 * audit triggers off, delete the last n events of a chain, rewind its head to the event before them
 * and switch the triggers on again. The chain alone then verifies. Returns the removed events.
 */
export async function cutAuditTail(t: { db: Database }, chainId: string, n: number): Promise<Selectable<AuditEventsTable>[]> {
  const owner = t.db.owner;
  const events = await owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq', 'desc').limit(n + 1).execute();
  if (events.length < n) throw new Error(`chain ${chainId} has ${events.length} events, not ${n} to cut`);
  // The head goes back to the event before the cut, or to an empty chain.
  const kept = events[n] ?? { seq: 0, hash: '' };
  const removed = events.slice(0, n).reverse();
  await sql`alter table audit_events disable trigger audit_events_no_update`.execute(owner);
  await sql`alter table audit_chain_heads disable trigger user`.execute(owner);
  try {
    await owner.deleteFrom('audit_events').where('chain_id', '=', chainId).where('seq', '>', kept.seq).execute();
    await owner.updateTable('audit_chain_heads').set({ seq: kept.seq, last_hash: kept.hash }).where('chain_id', '=', chainId).execute();
  } finally {
    await sql`alter table audit_chain_heads enable trigger user`.execute(owner);
    await sql`alter table audit_events enable trigger audit_events_no_update`.execute(owner);
  }
  return removed;
}

/**
 * A free loopback port for a server whose address must be known before it starts (a public URL,
 * a cluster's port). Chosen below 32768, outside the ports the kernel hands out for `listen(0)`
 * and outgoing connections on Linux, macOS and Windows, so a parallel test file cannot take it
 * between this check and the server's own listen.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = randomInt(20_000, 32_768);
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}
