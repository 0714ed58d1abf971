import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { PERMISSION_CATALOG, type Grants, type Permission } from './kernel/auth/permissions.ts';
import type { RequestContext } from './kernel/context.ts';
import type { Running } from './start.ts';

export const DEMO_TENANTS = [
  { slug: 'acme', name: 'Acme Corporation', region: 'US' as const, units: ['North', 'South'], customers: ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'] },
  { slug: 'globex', name: 'Globex Europe', region: 'EU' as const, units: ['Berlin', 'Lisbon'], customers: ['Hedy Lamarr', 'Tim Berners-Lee', 'Margaret Hamilton'] },
];
export const DEMO_OPERATOR = 'operator@demo.test';


export interface DemoAccounts {
  password: string;
  accounts: { email: string; tenant: string | null; role: string }[];
  created: boolean;
}

/** The demo password: DEMO_PASSWORD, else one generated once and kept beside the data. */
async function demoPassword(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'demo-password');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const generated = `Demo-${randomBytes(9).toString('base64url')}-1`;
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(file, generated, { mode: 0o600 });
    return generated;
  }
}

/**
 * Seeds the demo (an operator, tenants acme and globex with an Owner, a Member and a few customers
 * and orders) through the same services the API uses, so every row is audited. Idempotent: an
 * existing demo is left as it is, apart from taking the current demo password.
 */
export async function seedDemo(running: Running): Promise<DemoAccounts> {
  const { platform, services } = running;
  const { db, passwords, config, log } = platform;
  const password = await demoPassword(config.demoPassword, config.dataDir);
  const passwordHash = await passwords.hash(password);
  // The seed acts as the system, holding every permission everywhere: read once the modules have declared theirs.
  const grants: Grants = new Map(Object.keys(PERMISSION_CATALOG).map((key) => [key as Permission, 'all' as const]));
  const system = (tenantId: string | null): RequestContext => ({
    correlationId: randomUUID(),
    ip: null,
    userAgent: 'seed',
    actor: { type: 'system', userId: 'seed', tenantId, roles: [], sessionId: 'seed', amr: [], grants },
    reach: 'all',
    log,
  });
  const accounts: DemoAccounts['accounts'] = [{ email: DEMO_OPERATOR, tenant: null, role: 'operator' }];
  for (const tenant of DEMO_TENANTS) {
    accounts.push({ email: `owner@${tenant.slug}.demo.test`, tenant: tenant.slug, role: 'owner' });
    accounts.push({ email: `member@${tenant.slug}.demo.test`, tenant: tenant.slug, role: 'member' });
    accounts.push({ email: `unit@${tenant.slug}.demo.test`, tenant: tenant.slug, role: `member of unit ${tenant.units[0]}` });
  }

  const operator = await db.withPlatform((tx) => tx.selectFrom('users').select('id').where('email', '=', DEMO_OPERATOR).executeTakeFirst());
  if (operator) {
    await db.withPlatform((tx) => tx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', operator.id).execute());
    for (const tenant of DEMO_TENANTS) {
      const found = await db.withPlatform((tx) => tx.selectFrom('tenants').select('id').where('slug', '=', tenant.slug).executeTakeFirst());
      if (!found) continue;
      await db.withWholeTenant(found.id, (tx) =>
        tx.updateTable('users').set({ password_hash: passwordHash }).where('email', 'like', `%@${tenant.slug}.demo.test`).execute(),
      );
    }
    return { password, accounts, created: false };
  }

  await db.withPlatform((tx) =>
    services.identity.insertUser(tx, system(null), { tenantId: null, email: DEMO_OPERATOR, name: 'Demo Operator', role: 'operator', passwordHash }),
  );
  for (const demo of DEMO_TENANTS) {
    const tenant = await services.tenancy.create(system(null), {
      name: demo.name,
      slug: demo.slug,
      region: demo.region,
      plan: 'standard',
      owner: { email: `owner@${demo.slug}.demo.test`, name: `${demo.name} Owner`, password },
    });
    const ctx = system(tenant.id);
    await db.withWholeTenant(tenant.id, (tx) =>
      services.identity.insertUser(tx, ctx, { tenantId: tenant.id, email: `member@${demo.slug}.demo.test`, name: `${demo.name} Member`, role: 'member', passwordHash }),
    );
    const units = [];
    for (const name of demo.units) units.push(await services.access.createUnit(ctx, { name }));
    // A Member whose role holds only in the first unit: it sees that unit's customers only.
    const unitUser = await db.withWholeTenant(tenant.id, (tx) =>
      services.identity.insertUser(tx, ctx, { tenantId: tenant.id, email: `unit@${demo.slug}.demo.test`, name: `${demo.units[0]} Member`, role: null, passwordHash }),
    );
    const member = (await services.access.listRoles(ctx)).items.find((role) => role.key === 'member')!;
    await services.access.assign(ctx, { user_id: unitUser, role_id: member.id, unit_id: units[0]!.id });
    for (const [index, name] of demo.customers.entries()) {
      const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`;
      // The first customer belongs to the first unit, the others to the whole organization.
      const customer = await services.customers.create(ctx, { name, email, unit_id: index === 0 ? units[0]!.id : null });
      await services.orders.create(ctx, { customer_id: customer.id, total_cents: 1999 * (index + 1), currency: demo.region === 'EU' ? 'EUR' : 'USD' });
    }
    // Demo addresses receive no mail: the demo accounts count as verified (FR-VER-001).
    await db.withWholeTenant(tenant.id, (tx) => tx.updateTable('users').set({ email_verified_at: new Date() }).where('email_verified_at', 'is', null).execute());
  }
  await db.withPlatform((tx) => tx.updateTable('users').set({ email_verified_at: new Date() }).where('email', '=', DEMO_OPERATOR).execute());
  return { password, accounts, created: true };
}
