/**
 * Browser test of the console's access-control and audit screens: tenant administration (users,
 * invitations, roles, units, assignments), the auditor's audit log, the operator's tenants and the
 * impersonation banner. The server runs in this process (harness.ts) so the test can read the
 * development mailbox, where invitation links are delivered.
 *
 *   REQUIRE_BROWSER=1 npm test console-admin
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { eventually, type TestPlatform } from '../../server/test/helpers.ts';
import {
  alertOf,
  assertAccessible,
  assertNoHorizontalScroll,
  buildConsoleIfStale,
  launchBrowser,
  newPage as openPage,
  screenshotPath,
  shotDir,
  signInOk,
  skip,
  startServerInProcess,
  type RunningServer,
} from './harness.ts';

const OWNER = { email: 'owner@acme.demo.test', org: 'acme' };
const MEMBER = { email: 'member@acme.demo.test', org: 'acme' };
const AUDITOR = { email: 'auditor@acme.demo.test', org: 'acme' };
const OPERATOR = { email: 'operator@demo.test' };
const SUPPORT = { email: 'support@demo.test' };
const ADMIN_SCREENS = ['Users', 'Invitations', 'Roles', 'Units', 'Assignments', 'Audit log'];
const opts = { skip, timeout: 180_000 };

let server: (RunningServer & { platform: TestPlatform }) | undefined;
let browser: Browser | undefined;

const newPage = (viewport?: { width: number; height: number }) => openPage(browser, server?.baseURL ?? '', viewport);
const platform = () => {
  assert.ok(server, 'server not started');
  return server.platform;
};
const password = () => server?.password ?? '';
const acme = () => platform().tenants.acme!.id;

before(async () => {
  if (skip) return;
  buildConsoleIfStale();
  server = await startServerInProcess();
  const { db, running } = server.platform;
  await server.platform.addUser('acme', AUDITOR.email, 'auditor');
  // Platform Support staff (FR-RBAC-005); the demo seeds an operator only.
  const passwordHash = await running.platform.passwords.hash(server.password);
  await db.withPlatform((tx) =>
    tx.insertInto('users').values({ tenant_id: null, email: SUPPORT.email, name: 'Sam Support', platform_role: 'support', password_hash: passwordHash, email_verified_at: new Date() }).execute(),
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

/** The main navigation's links, by name. */
async function navLinks(page: Page): Promise<string[]> {
  const nav = page.getByRole('navigation', { name: 'Console' });
  if ((await nav.count()) === 0) return [];
  return (await nav.getByRole('link').allTextContents()).map((t) => t.trim());
}

async function openScreen(page: Page, label: string): Promise<void> {
  const nav = page.getByRole('navigation', { name: 'Console' });
  const toggle = nav.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  await nav.getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { name: label, level: 1 }).waitFor();
  // On narrow screens the menu has closed again, hiding the link.
  assert.equal(await nav.getByRole('link', { name: label, exact: true, includeHidden: true }).getAttribute('aria-current'), 'page');
  // The page heading takes the focus, so a screen reader starts on the new page.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
}

async function bearer(email: string, tenant?: string): Promise<{ authorization: string }> {
  return (await platform().login(email, tenant, password())).headers;
}

async function apiGet<T>(path: string, headers: { authorization: string }): Promise<T> {
  const res = await platform().app.inject({ method: 'GET', url: path, headers });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
  return res.json() as T;
}

test('owner composes a custom role from the catalog and assigns it in a unit', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, OWNER.email, password(), OWNER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    // Owners alone hold sso.manage: the single sign-on screen is theirs.
    assert.deepEqual(await navLinks(page), ['Customers', ...ADMIN_SCREENS.slice(0, -1), 'Single sign-on', 'Security', 'Audit log']);

    // Roles: the default roles are listed and fixed; a new role is composed from the catalog.
    await openScreen(page, 'Roles');
    await page.getByRole('row', { name: /Owner/ }).first().waitFor();
    await assertAccessible(page, 'roles page');
    await page.getByRole('button', { name: 'New role' }).click();
    const name = page.getByLabel('Name', { exact: true });
    assert.ok(await name.evaluate((el) => el === document.activeElement), 'name field focused when the form opens');
    const catalog = await apiGet<{ items: { key: string; plane: string }[] }>('/v1/permissions', await bearer(OWNER.email, OWNER.org));
    const tenantPermissions = catalog.items.filter((p) => p.plane === 'tenant');
    assert.equal(await page.getByRole('checkbox').count(), tenantPermissions.length, 'one checkbox per tenant permission of the catalog');
    await assertAccessible(page, 'roles page with the role form open');
    await name.fill('Dispatcher');
    await page.getByLabel(/^Description/).fill('Plans deliveries');
    for (const key of ['customers.read', 'orders.read', 'orders.write']) await page.getByRole('checkbox', { name: new RegExp(`\\b${key.replace('.', '\\.')}\\b`) }).check();
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('status').filter({ hasText: 'Role “Dispatcher” created with 3 permissions.' }).waitFor();
    await page.getByRole('row', { name: /Dispatcher/ }).waitFor();
    const roles = await apiGet<{ items: { id: string; name: string; permissions: string[] }[] }>(`/v1/tenants/${acme()}/roles`, await bearer(OWNER.email, OWNER.org));
    const dispatcher = roles.items.find((r) => r.name === 'Dispatcher');
    assert.deepEqual(dispatcher?.permissions.sort(), ['customers.read', 'orders.read', 'orders.write']);

    // Units: a new unit inside North.
    await openScreen(page, 'Units');
    await page.getByRole('button', { name: 'Edit North' }).waitFor();
    await page.getByRole('button', { name: 'New unit' }).click();
    await page.getByLabel('Name', { exact: true }).fill('North Depot');
    await page.getByLabel('Inside').selectOption({ label: 'North' });
    await page.getByRole('button', { name: 'Create unit' }).click();
    await page.getByRole('status').filter({ hasText: 'Unit “North Depot” created.' }).waitFor();
    await assertAccessible(page, 'units page');

    // Assignments: the member gets Dispatcher in North.
    await openScreen(page, 'Assignments');
    await page.getByRole('button', { name: 'Assign a role' }).click();
    const form = page.getByRole('region', { name: 'Assign a role' });
    await form.getByLabel('User', { exact: true }).selectOption({ label: `Acme Corporation Member (${MEMBER.email})` });
    await form.getByLabel('Role').selectOption({ label: 'Dispatcher' });
    await form.getByLabel('Where').selectOption({ label: 'North' });
    await assertAccessible(page, 'assignments page with the form open');
    await form.getByRole('button', { name: 'Assign role' }).click();
    await page.getByRole('status').filter({ hasText: `Dispatcher given to ${MEMBER.email} (North).` }).waitFor();
    await page.getByRole('row', { name: new RegExp(`${MEMBER.email}.*Dispatcher.*North`) }).waitFor();
    await assertAccessible(page, 'assignments page');

    const units = await apiGet<{ items: { id: string; name: string }[] }>(`/v1/tenants/${acme()}/units`, await bearer(OWNER.email, OWNER.org));
    const north = units.items.find((u) => u.name === 'North');
    const assignments = await apiGet<{ items: { role_id: string; unit_id: string | null }[] }>(
      `/v1/tenants/${acme()}/role-assignments?role_id=${dispatcher?.id}`,
      await bearer(OWNER.email, OWNER.org),
    );
    assert.deepEqual(
      assignments.items.map((a) => a.unit_id),
      [north?.id],
      'the role is assigned in North only',
    );

    // A refused change shows the server's problem: nobody takes away their own roles.
    await page.getByRole('button', { name: new RegExp(`Remove Owner from ${OWNER.email}`) }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove assignment' });
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement), true, 'Cancel has the focus');
    await assertAccessible(page, 'remove assignment dialog');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await dialog.getByRole('alert').filter({ hasText: /your own roles/ }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  } finally {
    await context.close();
  }
});

test('owner invites a user, who accepts from the emailed link and signs in', opts, async () => {
  const invitee = `new.hire.${Date.now()}@acme.example`;
  const { context, page } = await newPage();
  try {
    await signInOk(page, OWNER.email, password(), OWNER.org);
    await openScreen(page, 'Invitations');
    await assertAccessible(page, 'invitations page');
    await page.getByRole('button', { name: 'Invite a user' }).click();
    const form = page.getByRole('region', { name: 'Invite a user' });
    await form.getByLabel('Email').fill(invitee);
    await form.getByLabel('Role').selectOption({ label: 'Member' });
    await form.getByLabel('Where').selectOption({ label: 'South' });
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByRole('status').filter({ hasText: `Invitation sent to ${invitee}.` }).waitFor();
    await page.getByRole('row', { name: new RegExp(`${invitee}.*Member \\(South\\).*pending`) }).waitFor();
    await assertAccessible(page, 'invitations page with an invitation');
  } finally {
    await context.close();
  }

  // The link arrives in the development mailbox (sent by the worker).
  const mail = await eventually(
    () => platform().db.owner.selectFrom('dev_mailbox').select('body').where('recipient', '=', invitee).executeTakeFirst(),
    30_000,
  );
  const link = /https?:\/\/\S+#\/accept-invitation\?token=\S+/.exec(mail.body)?.[0];
  assert.ok(link, `no link in the invitation mail:\n${mail.body}`);

  const invited = await newPage();
  try {
    const { page: p } = invited;
    await p.goto(link);
    await p.getByRole('heading', { name: 'Accept invitation' }).waitFor();
    assert.equal(await p.title(), 'Accept invitation · TSV Baseline Console');
    await assertAccessible(p, 'accept invitation page');

    // A weak password is refused by the server's policy and nothing is created.
    await p.getByLabel(/^Your name/).fill('Nora Newhire');
    await p.getByLabel('Password', { exact: true }).fill('aaaaaaaaaaaa');
    await p.getByLabel('Repeat the password').fill('aaaaaaaaaaaa');
    await p.getByRole('button', { name: 'Create account' }).click();
    await alertOf(p).waitFor();
    assert.equal(await p.getByLabel('Password', { exact: true }).evaluate((el) => el === document.activeElement), true);
    await assertAccessible(p, 'accept invitation page with an error');

    const chosen = 'Welcome-Aboard-2026!';
    await p.getByLabel('Password', { exact: true }).fill(chosen);
    await p.getByLabel('Repeat the password').fill(chosen);
    await p.getByRole('button', { name: 'Create account' }).click();
    await p.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    await p.getByRole('banner').getByText(invitee).waitFor();
    assert.deepEqual(await navLinks(p), [], 'a Member has no navigation beyond customers');

    // The link works once.
    const token = decodeURIComponent(new URL(link).hash.split('token=')[1] ?? '');
    const reuse = await p.request.post('/v1/invitations/accept', { data: { token, password: chosen } });
    assert.ok(reuse.status() >= 400 && reuse.status() < 500, `a used link is refused (${reuse.status()})`);
  } finally {
    await invited.context.close();
  }

  // The new user signs in with the chosen password and appears on the owner's Users screen.
  const users = await apiGet<{ items: { email: string; name: string; roles: { name: string; unit_id: string | null }[] }[] }>(
    `/v1/tenants/${acme()}/users?q=${encodeURIComponent(invitee)}`,
    await bearer(OWNER.email, OWNER.org),
  );
  assert.equal(users.items[0]?.name, 'Nora Newhire');
  assert.deepEqual(users.items[0]?.roles.map((r) => r.name), ['Member']);
  await platform().login(invitee, OWNER.org, 'Welcome-Aboard-2026!');
});

test('a Member sees no administration screens', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, MEMBER.email, password(), MEMBER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    assert.deepEqual(await navLinks(page), []);
    for (const label of ADMIN_SCREENS) assert.equal(await page.getByRole('link', { name: label }).count(), 0, `no ${label} link`);
    // Typing an administration address leads back to the Member's own screen.
    for (const route of ['users', 'roles', 'units', 'assignments', 'invitations', 'audit', 'tenants']) {
      await page.evaluate((r) => {
        location.hash = `#/${r}`;
      }, route);
      await page.waitForFunction(() => location.hash === '#/customers');
    }
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  } finally {
    await context.close();
  }
});

test('the Auditor filters the audit log and downloads it as CSV', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, AUDITOR.email, password(), AUDITOR.org);
    // The Auditor's first screen is the users list (read-only).
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Change role/ }).count(), 0, 'no user changes without users.manage');
    const links = await navLinks(page);
    assert.ok(links.includes('Audit log'), `the Auditor sees the audit log (${links.join(', ')})`);
    assert.ok(!links.includes('Customers') && !links.includes('Invitations'), 'and nothing the role does not grant');
    await openScreen(page, 'Audit log');
    await page.locator('table tbody tr').first().waitFor();
    await assertAccessible(page, 'audit log');

    // Filter: sign-ins only.
    await page.getByLabel(/^Action/).fill('auth.login');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: /matching the filters/ }).waitFor();
    const actions = await page.locator('table tbody tr th').allTextContents();
    assert.ok(actions.length > 0, 'sign-ins are listed');
    assert.ok(actions.every((a) => a === 'auth.login'), `only sign-ins: ${actions.join(', ')}`);

    // A bad filter is refused with the server's explanation and the list stays as it was.
    await page.getByLabel(/^Action/).fill('Not An Action');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await alertOf(page).waitFor();
    await page.getByLabel(/^Action/).fill('auth.login');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: /matching the filters/ }).waitFor();

    // The download holds what the filters select.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^audit-events-.*\.csv$/);
    const file = await download.path();
    assert.ok(file, 'the download was saved');
    const lines = (await readFile(file, 'utf8')).trim().split(/\r?\n/);
    const header = lines[0]?.split(',') ?? [];
    const actionColumn = header.indexOf('action');
    assert.ok(actionColumn >= 0, `CSV header: ${lines[0]}`);
    assert.ok(lines.length > 1, 'the CSV has rows');
    assert.ok(lines.slice(1).every((line) => line.split(',')[actionColumn] === 'auth.login'), 'the CSV holds the filtered events only');
    await page.getByRole('status').filter({ hasText: `Downloaded ${download.suggestedFilename()}.` }).waitFor();

    // The export is itself recorded.
    const exported = await apiGet<{ items: { action: string; actor_id: string }[] }>(
      `/v1/tenants/${acme()}/audit-events?action=audit.exported`,
      await bearer(AUDITOR.email, AUDITOR.org),
    );
    assert.ok(exported.items.length >= 1, 'audit.exported recorded');

    // The details of an event open in place.
    await page.locator('table tbody tr').first().getByText('Details').click();
    await page.locator('table tbody tr').first().getByText('Correlation id').waitFor();
    await assertAccessible(page, 'audit log with filters and details');
  } finally {
    await context.close();
  }
});

test('users screen at 375px: cards, a menu, no horizontal scroll (screenshot)', opts, async (t: TestContext) => {
  const { context, page } = await newPage({ width: 375, height: 812 });
  try {
    await signInOk(page, OWNER.email, password(), OWNER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    const menu = page.getByRole('button', { name: 'Menu' });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.getByRole('link', { name: 'Users', exact: true }).isVisible(), false, 'links hidden behind the menu');
    await openScreen(page, 'Users');
    assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'choosing a page closes the menu');
    await page.locator('ul.cards > li').filter({ hasText: OWNER.email }).waitFor();
    assert.equal(await page.locator('table').count(), 0, 'no table on narrow screens');
    await assertNoHorizontalScroll(page, 'users screen at 375px');
    await assertAccessible(page, 'users screen at 375px');
    await page.screenshot({ path: screenshotPath('users-375.png') });
    await page.screenshot({ path: screenshotPath('users-375-full.png'), fullPage: true });

    // Search narrows the list.
    await page.getByRole('searchbox', { name: 'Search' }).fill('unit@');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: 'Showing 1 user matching the filters.' }).waitFor();
    await page.locator('ul.cards > li').filter({ hasText: 'unit@acme.demo.test' }).getByText('Member (North)').waitFor();
    t.diagnostic(`screenshots: ${shotDir}`);
  } finally {
    await context.close();
  }
});

test('owner changes a role, disables and enables a user on the users screen', opts, async () => {
  const email = `temp.${Date.now()}@acme.example`;
  await platform().addUser('acme', email, 'readonly');
  const { context, page } = await newPage();
  try {
    await signInOk(page, OWNER.email, password(), OWNER.org);
    await openScreen(page, 'Users');
    const row = page.getByRole('row', { name: new RegExp(email) });
    await row.getByText('Read-only').waitFor();

    await row.getByRole('button', { name: `Change role of ${email}` }).click();
    const dialog = page.getByRole('dialog', { name: `Change the role of ${email}` });
    await dialog.getByLabel('Role').selectOption({ label: 'Auditor' });
    await assertAccessible(page, 'change role dialog');
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await page.getByRole('status').filter({ hasText: `${email} is now Auditor (Whole organization).` }).waitFor();
    await row.getByText('Auditor').waitFor();

    await row.getByRole('button', { name: `Disable ${email}` }).click();
    await page.getByRole('dialog', { name: `Disable ${email}` }).getByRole('button', { name: 'Disable user' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await row.getByRole('button', { name: `Enable ${email}` }).click();
    await page.getByRole('dialog', { name: `Enable ${email}` }).getByRole('button', { name: 'Enable user' }).click();
    await row.getByText('active', { exact: true }).waitFor();
  } finally {
    await context.close();
  }
});

test('operator creates, suspends and reactivates a tenant and reads the platform audit log', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, OPERATOR.email, password());
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    assert.deepEqual(await navLinks(page), ['Tenants', 'Audit log']);

    await page.getByRole('button', { name: 'New tenant' }).click();
    const form = page.getByRole('region', { name: 'New tenant' });
    await form.getByLabel('Name', { exact: true }).fill('Initech');
    await form.getByLabel('Slug').fill('initech');
    await form.getByLabel('Region').selectOption('EU');
    await form.getByLabel('Owner’s email').fill('bill@initech.example');
    await form.getByLabel(/^Owner’s password/).fill('Initech-Owner-Passw0rd!');
    await assertAccessible(page, 'tenants page with the form open');
    await form.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('status').filter({ hasText: 'Tenant “Initech” created' }).waitFor();
    const row = page.getByRole('row', { name: /Initech/ });
    await row.getByText('active', { exact: true }).waitFor();

    await row.getByRole('button', { name: 'Suspend Initech' }).click();
    const dialog = page.getByRole('dialog', { name: 'Suspend tenant' });
    await assertAccessible(page, 'suspend dialog');
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await row.getByText('suspended', { exact: true }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Initech is suspended.' }).waitFor();
    const refused = await platform().app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'bill@initech.example', password: 'Initech-Owner-Passw0rd!', tenant: 'initech' } });
    assert.notEqual(refused.statusCode, 200, 'a suspended tenant cannot sign in');

    await row.getByRole('button', { name: 'Reactivate Initech' }).click();
    await page.getByRole('dialog', { name: 'Reactivate tenant' }).getByRole('button', { name: 'Reactivate' }).click();
    await row.getByText('active', { exact: true }).waitFor();
    await platform().login('bill@initech.example', 'initech', 'Initech-Owner-Passw0rd!');
    await assertAccessible(page, 'tenants page');

    // The platform view of the audit log; an operator may read it but not export it.
    await openScreen(page, 'Audit log');
    await page.getByLabel(/^Action/).fill('tenant.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: /matching the filters/ }).waitFor();
    const actions = await page.locator('table tbody tr th').allTextContents();
    assert.ok(actions.includes('tenant.suspended') && actions.includes('tenant.reactivated'), actions.join(', '));
    assert.equal(await page.getByRole('button', { name: 'Download CSV' }).count(), 0, 'no export without platform.audit.export');
    await assertAccessible(page, 'platform audit log');
  } finally {
    await context.close();
  }
});

test('support acts as a user: the banner names both and ends the session', opts, async () => {
  const member = await platform().db.withWholeTenant(acme(), (tx) =>
    tx.selectFrom('users').select('id').where('email', '=', MEMBER.email).executeTakeFirstOrThrow(),
  );
  const storedToken = (page: Page, key: string) =>
    page.evaluate((k) => (JSON.parse(sessionStorage.getItem(k) ?? '{}') as { access_token?: string }).access_token ?? null, key);
  const status = async (token: string | null) =>
    (await platform().app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode;

  async function actAsMember(page: Page, check: boolean) {
    await page.getByRole('button', { name: 'Act as a user of Acme Corporation' }).click();
    const dialog = page.getByRole('dialog', { name: 'Act as a user of Acme Corporation' });
    await dialog.getByLabel('User id').fill(member.id);
    await dialog.getByLabel('Reason').fill('Customer cannot see their orders');
    await dialog.getByLabel(/^Ticket/).fill('SUP-1234');
    if (check) await assertAccessible(page, 'impersonation dialog');
    await dialog.getByRole('button', { name: 'Start acting as this user' }).click();
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  }

  const { context, page } = await newPage();
  try {
    await signInOk(page, SUPPORT.email, password());
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await actAsMember(page, true);

    // Now the console is the member's, with the banner on every screen.
    const banner = page.getByRole('region', { name: 'Impersonation' });
    await banner.waitFor();
    const text = (await banner.textContent()) ?? '';
    assert.match(text, /You are acting as Acme Corporation Member for support@demo\.test; ends at /);
    await page.getByRole('banner').getByText(MEMBER.email).waitFor();
    await assertAccessible(page, 'customers page during impersonation');

    // Ending it signs the impersonation session out and returns to the staff member's own console.
    const impersonationToken = await storedToken(page, 'tsv.console.tokens');
    await banner.getByRole('button', { name: 'End impersonation' }).click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.getByRole('banner').getByText(SUPPORT.email).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Impersonation' }).count(), 0);
    assert.equal(await status(impersonationToken), 401, 'the impersonation token no longer works');

    // Signing out while acting as a user ends the staff member's session too.
    const staffToken = await storedToken(page, 'tsv.console.tokens');
    assert.equal(await status(staffToken), 200);
    await actAsMember(page, false);
    assert.equal(await storedToken(page, 'tsv.console.staff-tokens'), staffToken, 'the staff session is kept aside');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'no token left in the browser');
    assert.equal(await status(staffToken), 401, 'the staff session ended');
  } finally {
    await context.close();
  }
});
