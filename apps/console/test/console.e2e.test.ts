/**
 * Black-box browser test of the console against the real server.
 *
 *   node --import tsx --test apps/console/test/console.e2e.test.ts
 *
 * Builds the console if dist/ is missing or older than the sources, starts
 * `node --import tsx apps/server/src/main.ts` on a free port with a fresh DATA_DIR,
 * and drives the system Chromium (/usr/bin/chromium; never downloaded) with playwright-core.
 * Without Chromium the tests are skipped, unless REQUIRE_BROWSER=1.
 * Screenshots go to $SCREENSHOT_DIR or a fresh temp dir (printed as a diagnostic).
 * With DATABASE_URL set, the server runs on a fresh database of its own on that PostgreSQL server.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { createTestDatabase } from '../../server/test/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const DEMO_PASSWORD = 'Console-Test-Passw0rd!';
const OWNER = { email: 'owner@acme.demo.test', org: 'acme' };
const OPERATOR = { email: 'operator@demo.test' };
const READY_TIMEOUT_MS = 120_000;
const SERVER_ENTRY = 'apps/server/src/main.ts';

const consoleDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(consoleDir, '..', '..');

const browserMissing = !existsSync(CHROMIUM);
const requireBrowser = process.env.REQUIRE_BROWSER === '1';
const skip = browserMissing && !requireBrowser ? `Chromium not found at ${CHROMIUM} (set REQUIRE_BROWSER=1 to fail instead)` : false;
const opts = { skip, timeout: 120_000 };

let server: ChildProcess | undefined;
let serverLog = '';
let dataDir: string | undefined;
let browser: Browser | undefined;
let baseURL = '';
const shotDir = process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'tsv-console-shots-'));

/* ---------------------------------------------------------------- helpers */

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newestMtime(join(path, name))), st.mtimeMs);
}

function buildConsoleIfStale(): void {
  const distIndex = join(consoleDir, 'dist', 'index.html');
  const inputs = ['src', 'index.html', 'vite.config.ts'].map((p) => join(consoleDir, p)).filter(existsSync);
  const srcTime = Math.max(...inputs.map(newestMtime));
  if (existsSync(distIndex) && statSync(distIndex).mtimeMs >= srcTime) return;
  execFileSync('npx', ['vite', 'build'], { cwd: consoleDir, stdio: 'pipe', timeout: 180_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited early (code ${child?.exitCode}, signal ${child?.signalCode})\n${serverLog.slice(-4000)}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(300);
  }
  throw new Error(`server not ready after ${READY_TIMEOUT_MS / 1000}s (last: ${last})\n${serverLog.slice(-4000)}`);
}

async function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Kill the server even if the test process dies without running after(). */
process.on('exit', () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
});

async function axeSeriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
}

async function assertAccessible(page: Page, where: string): Promise<void> {
  const violations = await axeSeriousViolations(page);
  assert.deepEqual(violations, [], `axe serious/critical violations on ${where}:\n${violations.join('\n')}`);
}

async function newPage(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  assert.ok(browser, 'browser not launched');
  const context = await browser.newContext({ baseURL, viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('[browser pageerror]', err));
  return { context, page };
}

async function signIn(page: Page, email: string, password: string, org?: string): Promise<void> {
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel(/Organization/).fill(org ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Sign in and fail with the alert text (e.g. missing demo seed) instead of a bare timeout. */
async function signInOk(page: Page, email: string, password: string, org?: string): Promise<void> {
  await signIn(page, email, password, org);
  await page.waitForFunction(
    () => location.hash !== '#/login' || [...document.querySelectorAll('[role="alert"]')].some((el) => el.textContent?.trim()),
  );
  if (page.url().endsWith('#/login')) {
    assert.fail(`sign-in as ${email} failed: ${(await alertOf(page).textContent()) ?? ''}`);
  }
}

/** The visible (non-empty) alert region. */
const alertOf = (page: Page) => page.getByRole('alert').filter({ hasText: /\S/ });

async function customerRows(page: Page): Promise<number> {
  await page.waitForFunction(() => document.querySelectorAll('table tbody tr, ul.cards > li').length > 0);
  return page.locator('table tbody tr, ul.cards > li').count();
}

async function apiLogin(email: string, password: string, tenant?: string): Promise<Response> {
  return fetch(`${baseURL}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tenant ? { email, password, tenant } : { email, password }),
  });
}

/* ---------------------------------------------------------------- lifecycle */

let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

before(async () => {
  if (skip) return;
  assert.ok(!browserMissing, `REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (install the distro chromium package)`);
  try {
    buildConsoleIfStale();
    const port = await freePort();
    baseURL = `http://127.0.0.1:${port}`;
    dataDir = mkdtempSync(join(tmpdir(), 'tsv-console-e2e-'));
    database = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(database?.url ? { DATABASE_URL: database.url } : {}),
      PORT: String(port),
      DATA_DIR: dataDir,
      DEMO_PASSWORD,
      // The demo seed is on by default only in development; `npm test` sets ENVIRONMENT=test.
      SEED_DEMO: 'true',
      LOG_LEVEL: 'warn',
    };
    server = spawn(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      serverLog = (serverLog + chunk.toString()).slice(-20_000);
    };
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);
    await waitForReady(baseURL);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  } catch (err) {
    await stopServer();
    throw err;
  }
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopServer();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/* ---------------------------------------------------------------- tests */

test('chromium is available (REQUIRE_BROWSER=1 makes its absence fatal)', { skip: requireBrowser ? false : skip }, () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing`);
});

test('login page is accessible', opts, async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.title(), 'TSV Baseline Console');
    assert.equal(await page.locator('main').count(), 1, 'one main landmark');
    // The page heading receives focus so screen readers start at the right place.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Sign in');
    await assertAccessible(page, 'login page');
  } finally {
    await context.close();
  }
});

test('tenant owner: customers list, add customer, pagination, refresh, sign out', opts, async (t: TestContext) => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, OWNER.email, DEMO_PASSWORD, OWNER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    assert.match(page.url(), /#\/customers$/);
    const banner = page.getByRole('banner');
    await banner.getByText(OWNER.email).waitFor();
    assert.match((await banner.getByTestId('tenant-slug').textContent()) ?? '', new RegExp(`\\b${OWNER.org}$`));

    const initialRows = await customerRows(page);
    assert.ok(initialRows >= 1, 'demo tenant has customers');
    assert.ok(await page.locator('table').isVisible(), 'wide screens show a table');

    // Add a customer through the form.
    const name = `E2E Customer ${Date.now()}`;
    await page.getByRole('button', { name: 'Add customer' }).click();
    const nameInput = page.getByLabel('Name', { exact: true });
    await nameInput.waitFor();
    assert.ok(await nameInput.evaluate((el) => el === document.activeElement), 'name field focused when the form opens');
    await assertAccessible(page, 'customers page with the add form open');
    await nameInput.fill(name);
    await page.getByLabel(/^Email/).fill('e2e.customer@example.test');
    await page.getByLabel(/^Phone/).fill('+1 555 0100');
    await page.getByRole('button', { name: 'Save customer' }).click();
    await page.getByRole('row', { name: new RegExp(name) }).waitFor();
    await page.getByRole('status').filter({ hasText: 'added' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add customer' }).getAttribute('aria-expanded'), 'false');
    await assertAccessible(page, 'customers page');
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: join(shotDir, 'customers-1280.png') });

    // Search narrows the list to the new customer.
    await page.getByRole('searchbox', { name: 'Search customers' }).fill(name);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 1);
    await page.getByRole('row', { name: new RegExp(name) }).waitFor();
    await page.getByRole('searchbox', { name: 'Search customers' }).fill('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length >= n, initialRows + 1);

    // Cursor pagination: make sure there are more than 20 customers, then "Load more".
    const tokens = await page.evaluate(() => JSON.parse(sessionStorage.getItem('tsv.console.tokens') ?? 'null') as { access_token: string; refresh_token: string } | null);
    assert.ok(tokens?.access_token, 'tokens kept in sessionStorage');
    const me = (await (await fetch(`${baseURL}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as { tenant_id: string };
    for (let i = 0; i < 21; i++) {
      const res: Response = await fetch(`${baseURL}/v1/tenants/${me.tenant_id}/customers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Bulk Customer ${String(i).padStart(2, '0')}` }),
      });
      assert.equal(res.status, 201, `bulk create ${i}: ${await res.text()}`);
    }
    await page.reload();
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    await customerRows(page);
    const loadMore = page.getByRole('button', { name: 'Load more' });
    await loadMore.waitFor();
    const firstPage = await page.locator('table tbody tr').count();
    assert.equal(firstPage, 20, 'first page has limit=20 rows');
    await loadMore.click();
    await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length > n, firstPage);

    // An expired/invalid access token is refreshed transparently (one refresh on 401).
    await page.evaluate(() => {
      const stored = JSON.parse(sessionStorage.getItem('tsv.console.tokens') ?? '{}') as Record<string, unknown>;
      sessionStorage.setItem('tsv.console.tokens', JSON.stringify({ ...stored, access_token: 'invalid.token.value' }));
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    assert.ok((await customerRows(page)) >= 1, 'list loads after refreshing the token');
    const refreshed = await page.evaluate(() => JSON.parse(sessionStorage.getItem('tsv.console.tokens') ?? 'null') as { access_token: string; refresh_token: string } | null);
    assert.ok(refreshed && refreshed.access_token !== 'invalid.token.value', 'new access token stored');

    // Sign out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'signed out' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tsv.console.tokens')), null, 'tokens cleared');
    const reuse = await fetch(`${baseURL}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshed.refresh_token }),
    });
    if (reuse.ok) t.diagnostic('server-side note: refresh token still accepted after logout');
  } finally {
    await context.close();
  }
});

test('wrong password shows the problem title in an alert', opts, async () => {
  const { context, page } = await newPage();
  try {
    const wrong = 'not-the-password-1!';
    const res = await apiLogin(OWNER.email, wrong, OWNER.org);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await res.json()) as { title?: string };
    assert.ok(problem.title, 'problem has a title');

    await signIn(page, OWNER.email, wrong, OWNER.org);
    const alert = alertOf(page);
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', new RegExp(problem.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await page.getByLabel('Password').evaluate((el) => el === document.activeElement), true, 'focus returns to the password');
    await assertAccessible(page, 'login page with an error');
  } finally {
    await context.close();
  }
});

test('a refused create (403 problem) shows the problem title and keeps the form open', opts, async () => {
  // No demo account has the read-only role, so the 403 is answered in the browser.
  const { context, page } = await newPage();
  try {
    await page.route(/\/v1\/tenants\/[^/]+\/customers$/, (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 403,
            contentType: 'application/problem+json',
            body: JSON.stringify({ type: '/problems/forbidden', title: 'Forbidden', status: 403, detail: 'This action needs the permission customers.write.', correlation_id: 'test' }),
          })
        : route.fallback(),
    );
    await signInOk(page, OWNER.email, DEMO_PASSWORD, OWNER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Add customer' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Refused Customer');
    await page.getByRole('button', { name: 'Save customer' }).click();
    const alert = alertOf(page);
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /Forbidden.*customers\.write/);
    assert.ok(await page.getByLabel('Name', { exact: true }).isVisible(), 'form stays open');
    assert.equal(await page.getByRole('row', { name: /Refused Customer/ }).count(), 0);
  } finally {
    await context.close();
  }
});

test('mobile 375x812: customers as cards, no horizontal scroll (screenshot)', opts, async (t: TestContext) => {
  const { context, page } = await newPage({ width: 375, height: 812 });
  try {
    await signInOk(page, OWNER.email, DEMO_PASSWORD, OWNER.org);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    assert.ok((await customerRows(page)) >= 1);
    assert.equal(await page.locator('table').count(), 0, 'no table on narrow screens');
    assert.ok(await page.locator('ul.cards > li').first().isVisible(), 'cards on narrow screens');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page scrolls horizontally by ${overflow}px at 375px`);
    await assertAccessible(page, 'customers page at 375px');

    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: join(shotDir, 'customers-375.png') });
    await page.screenshot({ path: join(shotDir, 'customers-375-full.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add customer' }).click();
    await page.getByLabel('Name', { exact: true }).waitFor();
    await page.screenshot({ path: join(shotDir, 'customers-375-add.png') });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: join(shotDir, 'login-375.png') });
    t.diagnostic(`screenshots: ${shotDir}`);
  } finally {
    await context.close();
  }
});

test('platform operator sees the tenants list', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, OPERATOR.email, DEMO_PASSWORD);
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    assert.match(page.url(), /#\/tenants$/);
    await page.getByRole('banner').getByText(OPERATOR.email).waitFor();
    for (const slug of ['acme', 'globex']) {
      await page.getByRole('row').filter({ has: page.getByText(slug, { exact: true }) }).first().waitFor();
    }
    await assertAccessible(page, 'tenants page');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  } finally {
    await context.close();
  }
});
