/**
 * What the console's browser tests share: building the console, running the real server, driving
 * the system Chromium (/usr/bin/chromium; never downloaded) with playwright-core, and the axe check.
 *
 * Two ways to run the server:
 * - `startServerProcess`: `node --import tsx apps/server/src/main.ts` on a free port with a fresh
 *   DATA_DIR, exactly as `npm start` runs it (black box);
 * - `startServerInProcess`: the same platform started in the test process (as the server's own tests
 *   do), for tests that must read what the server keeps to itself, such as the development mailbox.
 * With DATABASE_URL set, either runs on a fresh database of its own on that PostgreSQL server.
 *
 * Without Chromium the tests are skipped, unless REQUIRE_BROWSER=1.
 * Screenshots go to $SCREENSHOT_DIR or a fresh temp dir.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { buildTestPlatform, createTestDatabase, freePort, TEST_PASSWORD, type TestPlatform } from '../../server/test/helpers.ts';

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
const READY_TIMEOUT_MS = 120_000;
const SERVER_ENTRY = 'apps/server/src/main.ts';

const consoleDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(consoleDir, '..', '..');

export const browserMissing = !existsSync(CHROMIUM);
export const requireBrowser = process.env.REQUIRE_BROWSER === '1';
export const CHROMIUM_PATH = CHROMIUM;
/** The `skip` option of every browser test. */
export const skip = browserMissing && !requireBrowser ? `Chromium not found at ${CHROMIUM} (set REQUIRE_BROWSER=1 to fail instead)` : false;
export const shotDir = process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'tsv-console-shots-'));

export function screenshotPath(name: string): string {
  mkdirSync(shotDir, { recursive: true });
  return join(shotDir, name);
}

/* ---------------------------------------------------------------- console build */

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newestMtime(join(path, name))), st.mtimeMs);
}

/** Builds the console if dist/ is missing or older than the sources (the SDK's included: the console bundles them). */
export function buildConsoleIfStale(): void {
  const distIndex = join(consoleDir, 'dist', 'index.html');
  const inputs = [...['src', 'index.html', 'vite.config.ts'].map((p) => join(consoleDir, p)), join(repoRoot, 'packages', 'sdk', 'src')].filter(existsSync);
  const srcTime = Math.max(...inputs.map(newestMtime));
  if (existsSync(distIndex) && statSync(distIndex).mtimeMs >= srcTime) return;
  execFileSync('npx', ['vite', 'build'], { cwd: consoleDir, stdio: 'pipe', timeout: 180_000 });
}

/* ---------------------------------------------------------------- servers */

export interface RunningServer {
  baseURL: string;
  /** Password of every demo account. */
  password: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `node apps/server/src/main.ts` with the demo seed, as `npm start` runs it. */
export async function startServerProcess(password: string): Promise<RunningServer> {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'tsv-console-e2e-'));
  const database = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
  let log = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...(database?.url ? { DATABASE_URL: database.url } : {}),
      PORT: String(port),
      DATA_DIR: dataDir,
      DEMO_PASSWORD: password,
      // The demo seed is on by default only in development; `npm test` sets ENVIRONMENT=test.
      SEED_DEMO: 'true',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // Kill the server even if the test process dies without stopping it.
  const killOnExit = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  async function stop() {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server exited early (code ${child.exitCode}, signal ${child.signalCode})\n${log.slice(-4000)}`);
      }
      try {
        const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) break;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline) throw new Error(`server not ready after ${READY_TIMEOUT_MS / 1000}s (last: ${last})\n${log.slice(-4000)}`);
      await sleep(300);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { baseURL, password, stop };
}

/** The platform (API, worker, console files) in this process, seeded, listening on a free port. */
export async function startServerInProcess(): Promise<RunningServer & { platform: TestPlatform }> {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  let platform: TestPlatform;
  try {
    platform = await buildTestPlatform({ PUBLIC_URL: baseURL });
  } catch (err) {
    // A start that fails half way leaves the database pool and the job queue open, and nothing
    // here can close them: end this test file once its failures are reported instead of hanging.
    setTimeout(() => process.exit(1), 5_000).unref();
    throw err;
  }
  try {
    await platform.app.listen({ host: '127.0.0.1', port });
  } catch (err) {
    await platform.close();
    throw err;
  }
  return { baseURL, password: TEST_PASSWORD, platform, stop: () => platform.close() };
}

/* ---------------------------------------------------------------- browser */

export async function launchBrowser(): Promise<Browser> {
  assert.ok(!browserMissing, `REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (install the distro chromium package)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export async function newPage(
  browser: Browser | undefined,
  baseURL: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  assert.ok(browser, 'browser not launched');
  const context = await browser.newContext({ baseURL, viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('[browser pageerror]', err));
  return { context, page };
}

export async function signIn(page: Page, email: string, password: string, org?: string): Promise<void> {
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel(/Organization/).fill(org ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The visible (non-empty) alert region. */
export const alertOf = (page: Page) => page.getByRole('alert').filter({ hasText: /\S/ });

/** Sign in and fail with the alert text (e.g. missing demo seed) instead of a bare timeout. */
export async function signInOk(page: Page, email: string, password: string, org?: string): Promise<void> {
  // The sign-in is over when its answer has come (a page still on its first address may not show
  // #/login yet, and the check below would pass before the request is even answered).
  const answered = page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/v1/auth/login');
  await signIn(page, email, password, org);
  await answered;
  await page.waitForFunction(
    () => location.hash !== '#/login' || [...document.querySelectorAll('[role="alert"]')].some((el) => el.textContent?.trim()),
  );
  if (page.url().endsWith('#/login')) {
    assert.fail(`sign-in as ${email} failed: ${(await alertOf(page).textContent()) ?? ''}`);
  }
}

async function axeSeriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
}

/** axe finds no serious or critical violation on the page as it is now. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  const violations = await axeSeriousViolations(page);
  assert.deepEqual(violations, [], `axe serious/critical violations on ${where}:\n${violations.join('\n')}`);
}

/** The page scrolls no wider than the viewport. */
export async function assertNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${where} scrolls horizontally by ${overflow}px`);
}
