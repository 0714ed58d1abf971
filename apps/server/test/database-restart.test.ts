import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildTestPlatform, eventually, freePort, type Session, type TestPlatform } from './helpers.ts';

/**
 * NFR-OPS-001, CON-ARCH-005: a PostgreSQL restart under load takes no process down. Requests
 * during the outage answer 503 database-unavailable with Retry-After; once the server is back,
 * requests succeed again, the worker processes jobs again and the LISTEN connections are back.
 * The server is a private cluster of this test's own, started with the system's binaries.
 */
const BIN = '/usr/lib/postgresql/15/bin';
const skip = !process.env.DATABASE_URL
  ? 'PostgreSQL only (DATABASE_URL unset): the embedded database has no server to restart'
  : !fs.existsSync(path.join(BIN, 'initdb')) || !fs.existsSync(path.join(BIN, 'pg_ctl'))
    ? `PostgreSQL 15 server binaries not found in ${BIN}`
    : false;

/** PostgreSQL refuses to run as root: then the cluster runs as the postgres OS user. */
const asRoot = process.getuid?.() === 0;

function postgresTool(tool: string, args: string[]): [string, string[]] {
  const [command, ...rest] = asRoot ? ['runuser', '-u', 'postgres', '--', path.join(BIN, tool), ...args] : [path.join(BIN, tool), ...args];
  return [command!, rest];
}

/** Runs a server tool without blocking the event loop: the platform keeps serving meanwhile. */
async function runPostgresTool(tool: string, args: string[]) {
  await promisify(execFile)(...postgresTool(tool, args), { timeout: 30_000 });
}

/** A throwaway cluster on a free loopback port with trust authentication. */
class PrivateCluster {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivateCluster> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-pg-'));
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      fs.chownSync(dataDir, uid, gid);
    }
    const cluster = new PrivateCluster(dataDir, await freePort());
    await runPostgresTool('initdb', ['-D', path.join(dataDir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions']);
    return cluster;
  }

  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  start() {
    const options = `-c port=${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dataDir} -c fsync=off`;
    return runPostgresTool('pg_ctl', ['-D', path.join(this.dataDir, 'data'), '-l', path.join(this.dataDir, 'log'), '-o', options, '-w', 'start']);
  }

  /** `immediate`: the server's processes are killed, as in a crash or a failover away from it. */
  stop(mode: 'fast' | 'immediate') {
    return runPostgresTool('pg_ctl', ['-D', path.join(this.dataDir, 'data'), '-m', mode, '-w', 'stop']);
  }

  /** Stops the server if it runs and removes its files; safe to call more than once. */
  destroy() {
    if (!fs.existsSync(this.dataDir)) return;
    // Synchronous: it also runs when the process exits.
    spawnSync(...postgresTool('pg_ctl', ['-D', path.join(this.dataDir, 'data'), '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore', timeout: 30_000 });
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function outcomeOf(response: LightMyRequestResponse): 'created' | 'unavailable' {
  if (response.statusCode === 201) return 'created';
  assert.equal(response.statusCode, 503, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(response.json().type, '/problems/database-unavailable');
  assert.ok(Number(response.headers['retry-after']) >= 1, `Retry-After: ${response.headers['retry-after']}`);
  return 'unavailable';
}

describe('a PostgreSQL restart under load', { skip, timeout: 120_000 }, () => {
  let cluster: PrivateCluster | undefined;
  let t: TestPlatform;
  let owner: Session;
  const uncaught: unknown[] = [];
  const recordUncaught = (error: unknown) => void uncaught.push(error);
  // Even a test process that dies leaves no cluster running behind it.
  const destroyCluster = () => cluster?.destroy();

  before(async () => {
    process.on('uncaughtException', recordUncaught);
    process.on('unhandledRejection', recordUncaught);
    process.once('exit', destroyCluster);
    cluster = await PrivateCluster.create();
    await cluster.start();
    t = await buildTestPlatform({ TENANT_CONCURRENCY: '16' }, { server: cluster.url });
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(async () => {
    try {
      await t?.close();
    } finally {
      destroyCluster();
      process.off('exit', destroyCluster);
      process.off('uncaughtException', recordUncaught);
      process.off('unhandledRejection', recordUncaught);
    }
  });

  test('the platform survives, answers 503 problems while the server is down, and serves again once it is back', async () => {
    const acme = t.tenants.acme!.id;
    /** When each answer's request began, relative to the outage. */
    const answers: { phase: 'before' | 'down' | 'after'; outcome: 'created' | 'unavailable' }[] = [];
    let phase: 'before' | 'stopping' | 'down' | 'starting' | 'after' = 'before';
    let loading = true;
    let failure: unknown = null;
    let sent = 0;
    const client = async () => {
      while (loading) {
        const began = phase;
        const response = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/customers`, headers: owner.headers, payload: { name: `Load ${sent++}` } });
        try {
          const outcome = outcomeOf(response);
          // A request begun while the server stopped or started may go either way: only clear cases count.
          if (began === 'before' || began === 'down' || began === 'after') answers.push({ phase: began, outcome });
          if (outcome === 'unavailable') await sleep(20);
        } catch (error) {
          failure ??= error;
          loading = false;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));
    const count = (p: string, o: string) => answers.filter((a) => a.phase === p && a.outcome === o).length;
    /** Waits until `n` answers of the phase had the outcome; an answer of any other shape fails at once. */
    const answered = (p: string, o: string, n: number) =>
      eventually(async () => {
        if (failure) throw failure;
        return count(p, o) >= n;
      }, 20_000);

    await answered('before', 'created', 16);
    phase = 'stopping';
    await cluster!.stop('immediate');
    phase = 'down';
    await answered('down', 'unavailable', 16);
    phase = 'starting';
    await cluster!.start();
    phase = 'after';
    await answered('after', 'created', 16);
    loading = false;
    await load;
    if (failure) throw failure;
    assert.equal(count('down', 'created'), 0, 'nothing is created while the server is down');
    console.log(`restart under load: ${answers.length} answers; ${count('down', 'unavailable')} 503 problems while down, ${count('after', 'created')} created after`);

    // The worker processes jobs again.
    const customer = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/customers`, headers: owner.headers, payload: { name: 'Buyer' } });
    assert.equal(customer.statusCode, 201, customer.body);
    const order = await t.app.inject({ method: 'POST', url: `/v1/tenants/${acme}/orders`, headers: owner.headers, payload: { customer_id: customer.json().id, total_cents: 900, currency: 'USD' } });
    assert.equal(order.statusCode, 201, order.body);
    await eventually(async () => {
      const read = await t.app.inject({ method: 'GET', url: `/v1/tenants/${acme}/customers/${customer.json().id}`, headers: owner.headers });
      return read.json().order_count === 1;
    }, 20_000);

    // The LISTEN connections are back: a revocation announced now reaches the node before the cache TTL.
    const admin = new pg.Client({ connectionString: t.databaseUrl });
    await admin.connect();
    try {
      await eventually(async () => (await admin.query(`select 1 from pg_stat_activity where datname = current_database() and query = 'listen tsv_sessions'`)).rowCount === 1, 20_000);
      const member = await t.login('member@acme.demo.test', 'acme');
      const me = () => t.app.inject({ method: 'GET', url: '/v1/me', headers: member.headers });
      const first = await me();
      assert.equal(first.statusCode, 200, first.body);
      const sessionId = first.json().session_id as string;
      // Cached after the listener came back: only its NOTIFY can end the session before the TTL.
      await sleep(300);
      assert.ok(t.running.platform.sessions.get(sessionId), 'the node holds the session in its cache');
      await admin.query(`update sessions set status = 'revoked', revoked_at = now(), revoked_reason = 'logout' where id = $1`, [sessionId]);
      await admin.query(`select pg_notify('tsv_sessions', 'session:' || $1)`, [sessionId]);
      await eventually(async () => (await me()).statusCode === 401, 5_000);
      assert.ok(t.config.sessionCacheTtlMs > 5_000, 'the cache TTL alone would be too slow, so the test proves NOTIFY');
    } finally {
      await admin.end();
    }
    assert.deepEqual(uncaught, []);
  });
});
