/** The seeded tenants and accounts, written through SQL on the owner connection. */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Running } from '../../apps/server/src/start.ts';
import type { Options } from './options.ts';
import { progress } from './progress.ts';

/** Every seeded user's password (one Argon2id hash shared by all). */
export const PASSWORD = 'Bench-Passw0rd-2026!';

export interface Seeded {
  tenants: { id: string; slug: string }[];
  customers: { tenantId: string; customerId: string }[];
  sessions: { tenantId: string; userId: string; sessionId: string; token: string }[];
  logins: { email: string; slug: string }[];
  timings: { label: string; seconds: number }[];
  usersPerSecond: number;
}

/** The k-th chosen account: spread over every tenant first, then down each tenant's users. */
export function accountAt(k: number, options: Options) {
  const tenant = (k % options.tenants) + 1;
  const user = (Math.floor(k / options.tenants) % options.users) + 1;
  return { tenant, user, email: `user${user}@bench-${tenant}.test`, slug: `bench-${tenant}` };
}

/** A stable device id per bench user (a UUID shaped from the address), as a returning client sends. */
export function deviceIdOf(email: string): string {
  const h = createHash('sha256').update(email).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function seed(running: Running, options: Options): Promise<Seeded> {
  const owner = running.platform.db.owner;
  const timings: Seeded['timings'] = [];
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await fn();
    timings.push({ label, seconds: (performance.now() - t0) / 1000 });
    progress(`seed: ${label} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return result;
  };

  const hash = await timed('hash one password (Argon2id)', () => running.platform.passwords.hash(PASSWORD));

  const tenants = await timed(`${options.tenants} tenants and audit chain heads`, async () => {
    const rows = await sql<{ id: string; slug: string }>`
      insert into tenants (name, slug, region)
      select 'Bench tenant ' || i, 'bench-' || i, 'US' from generate_series(1, ${options.tenants}::int) as i
      returning id, slug`.execute(owner);
    await sql`insert into audit_chain_heads (chain_id, tenant_id) select id, id from tenants where slug like 'bench-%'`.execute(owner);
    await sql`
      insert into roles (tenant_id, key, name)
      select t.id, r.key, r.name from tenants t
      cross join (values ('owner', 'Owner'), ('admin', 'Administrator'), ('member', 'Member'),
                         ('readonly', 'Read-only'), ('auditor', 'Auditor')) as r (key, name)
       where t.slug like 'bench-%'`.execute(owner);
    return rows.rows
      .map((row) => ({ ...row, index: Number(row.slug.slice('bench-'.length)) }))
      .sort((a, b) => a.index - b.index);
  });

  const userSeconds0 = performance.now();
  await timed(`${(options.tenants * options.users).toLocaleString('en-US')} users (${options.users} per tenant)`, async () => {
    const batch = Math.max(1, Math.floor(100_000 / options.users));
    for (let start = 0; start < tenants.length; start += batch) {
      const slice = tenants.slice(start, start + batch);
      await sql`
        insert into users (tenant_id, email, name, password_hash, email_verified_at)
        select t.id, 'user' || u || '@bench-' || t.i || '.test', 'Bench User ' || u, ${hash}, now()
          from unnest(${slice.map((t) => t.id)}::uuid[], ${slice.map((t) => t.index)}::int[]) as t(id, i),
               generate_series(1, ${options.users}::int) as u`.execute(owner);
      // The first user of each tenant is its Owner, the others Members, as tenant-wide assignments.
      await sql`
        insert into role_assignments (tenant_id, user_id, role_id)
        select u.tenant_id, u.id, r.id
          from users u
          join roles r on r.tenant_id = u.tenant_id
                      and r.key = case when u.email like 'user1@%' then 'owner' else 'member' end
         where u.tenant_id = any(${slice.map((t) => t.id)}::uuid[])`.execute(owner);
      if (tenants.length > batch) progress(`seed: users of ${Math.min(start + batch, tenants.length)}/${tenants.length} tenants`);
    }
  });
  const usersPerSecond = (options.tenants * options.users) / ((performance.now() - userSeconds0) / 1000);

  const customers = await timed(`${options.customers} customers per tenant, copied to customers_norls`, async () => {
    await sql`
      insert into customers (tenant_id, name, email)
      select t.id, 'Customer ' || c, 'customer' || c || '@example.com'
        from tenants t, generate_series(1, ${options.customers}::int) as c
       where t.slug like 'bench-%'`.execute(owner);
    // The RLS comparison's table: the same rows and indexes, no row-level security, owner only.
    await sql`create table customers_norls (like customers including all)`.execute(owner);
    await sql`insert into customers_norls select * from customers`.execute(owner);
    const rows = await sql<{ tenant_id: string; id: string }>`select tenant_id, id from customers`.execute(owner);
    return rows.rows.map((row) => ({ tenantId: row.tenant_id, customerId: row.id }));
  });

  const sessions = await timed(`${options.sessions} sessions with access tokens`, async () => {
    const chosen = Array.from({ length: options.sessions }, (_, k) => accountAt(k, options));
    const bySlug = new Map(tenants.map((t) => [t.slug, t.id]));
    const users = await sql<{ id: string; tenant_id: string; role: string }>`
      select u.id, u.tenant_id, case when u.email like 'user1@%' then 'owner' else 'member' end as role
        from unnest(${chosen.map((c) => bySlug.get(c.slug)!)}::uuid[], ${chosen.map((c) => c.email)}::text[]) as w(tenant_id, email)
        join users u on u.tenant_id = w.tenant_id and u.email = w.email`.execute(owner);
    const roleOf = new Map(users.rows.map((u) => [u.id, u.role]));
    const created = await sql<{ id: string; tenant_id: string; user_id: string }>`
      insert into sessions (tenant_id, user_id, expires_at, ip, user_agent)
      select w.tenant_id, w.user_id, now() + interval '12 hours', '127.0.0.1', 'tsv-bench'
        from unnest(${users.rows.map((u) => u.tenant_id)}::uuid[], ${users.rows.map((u) => u.id)}::uuid[]) as w(tenant_id, user_id)
      returning id, tenant_id, user_id`.execute(owner);
    const out: Seeded['sessions'] = [];
    for (const row of created.rows) {
      const { token } = await running.platform.tokens.issue({
        sub: row.user_id,
        tenant_id: row.tenant_id,
        roles: [roleOf.get(row.user_id)!],
        sid: row.id,
        amr: ['pwd'],
      });
      out.push({ tenantId: row.tenant_id, userId: row.user_id, sessionId: row.id, token });
    }
    return out;
  });

  await timed('analyze', () => sql`analyze tenants, users, roles, role_assignments, sessions, audit_chain_heads, customers, customers_norls`.execute(owner));

  const logins = Array.from({ length: options.logins }, (_, k) => accountAt(k + options.sessions, options)).map(({ email, slug }) => ({ email, slug }));
  return { tenants, customers, sessions, logins, timings, usersPerSecond };
}
