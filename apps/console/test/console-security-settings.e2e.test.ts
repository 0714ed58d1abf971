/**
 * Browser test of the organization's Security screen (FR-AUTH-006, FR-AUTH-008, NFR-SEC-003,
 * ERR-AUTH-461, FR-VER-002): the Owner tightens the password policy, shortens sessions, requires a
 * second factor of everyone and changes the verification channel; the API then applies each rule.
 * Weaker values are refused with the reason shown. axe checks the page; it fits 375 px.
 *
 *   REQUIRE_BROWSER=1 npm test console-security-settings
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { TEST_PASSWORD, type TestPlatform } from '../../server/test/helpers.ts';
import {
  alertOf,
  assertAccessible,
  assertNoHorizontalScroll,
  buildConsoleIfStale,
  launchBrowser,
  newPage as openPage,
  screenshotPath,
  signInOk,
  skip,
  startServerInProcess,
  type RunningServer,
} from './harness.ts';

const OWNER = 'owner@acme.demo.test';
const MEMBER = 'member@acme.demo.test';
/** Three kinds of character, 18 long: fine under the platform minimum, not once all four are required. */
const THREE_CLASSES = 'Correcthorse424242';
const opts = { skip, timeout: 180_000 };

let server: (RunningServer & { platform: TestPlatform }) | undefined;
let browser: Browser | undefined;

const baseURL = () => server?.baseURL ?? '';
const newPage = (viewport?: { width: number; height: number }) => openPage(browser, baseURL(), viewport);
const platform = () => {
  assert.ok(server, 'server not started');
  return server.platform;
};

before(async () => {
  if (skip) return;
  buildConsoleIfStale();
  server = await startServerInProcess();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

async function api(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseURL()}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

const login = (email: string, password = TEST_PASSWORD) => api('POST', '/v1/auth/login', undefined, { email, password, tenant: 'acme' });

/** A new member's attempt to change its password to `candidate`, through the API. */
async function changeOwnPassword(email: string, candidate: string) {
  await platform().addUser('acme', email, 'member');
  const session = await login(email);
  assert.equal(session.status, 200, JSON.stringify(session.json));
  return api('POST', '/v1/me/password', String(session.json.access_token), { current_password: TEST_PASSWORD, new_password: candidate });
}

/** The form of one section of the page, by its title. */
const section = (page: Page, title: string) => page.getByRole('form', { name: title });

async function openSecurity(page: Page) {
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
  await section(page, 'Verification policy').waitFor();
}

test('FR-AUTH-006: a Member does not see the Security screen', opts, async () => {
  const { context, page } = await newPage();
  try {
    await signInOk(page, MEMBER, TEST_PASSWORD, 'acme');
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Security' }).count(), 0);
    // Typing the address leads back to the Member's own first screen.
    await page.goto('/#/security');
    await page.waitForFunction(() => location.hash !== '#/security');
    assert.equal(await page.getByRole('heading', { name: 'Security' }).count(), 0);
  } finally {
    await context.close();
  }
});

test('FR-AUTH-008: the Security screen works at 375 px without sideways scrolling', opts, async () => {
  const { context, page } = await newPage({ width: 375, height: 740 });
  try {
    await signInOk(page, OWNER, TEST_PASSWORD, 'acme');
    await page.getByRole('button', { name: 'Menu' }).click();
    await openSecurity(page);
    assert.equal(await section(page, 'Password policy').getByLabel('Minimum length').inputValue(), '12');
    await assertNoHorizontalScroll(page, 'security settings at 375 px');
    await assertAccessible(page, 'security settings at 375 px');
    await page.screenshot({ path: screenshotPath('security-settings-mobile.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('FR-AUTH-006, FR-AUTH-008, NFR-SEC-003, ERR-AUTH-461, FR-VER-002: the Owner tightens every policy and the API applies them', opts, async () => {
  const owner = await login(OWNER);
  const ownerToken = String(owner.json.access_token);
  const acme = platform().tenants.acme!.id;
  // Fine under the platform minimum.
  assert.equal((await changeOwnPassword('before@acme.example', THREE_CLASSES)).status, 204);

  const { context, page } = await newPage();
  try {
    await signInOk(page, OWNER, TEST_PASSWORD, 'acme');
    await openSecurity(page);
    await assertAccessible(page, 'security settings');

    // Password policy: weaker than the platform minimum is refused before anything is sent.
    const password = section(page, 'Password policy');
    await password.getByLabel('Minimum length').fill('8');
    await password.getByRole('button', { name: 'Save password policy' }).click();
    await alertOf(page).filter({ hasText: 'Minimum length must be at least 12 characters.' }).waitFor();
    await assertAccessible(page, 'security settings with an error');
    assert.equal((await api('GET', `/v1/tenants/${acme}/password-policy`, ownerToken)).json.version, 0, 'nothing was saved');

    await password.getByLabel('Minimum length').fill('16');
    await password.getByLabel(/Require all four kinds/).check();
    await password.getByLabel('Password history').fill('8');
    await password.getByRole('button', { name: 'Save password policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Password policy saved.' }).waitFor();
    assert.equal(await alertOf(page).count(), 0, 'the earlier error is gone');
    const refused = await changeOwnPassword('after@acme.example', THREE_CLASSES);
    assert.equal(refused.status, 400);
    assert.deepEqual((refused.json.unmet_rules as { rule: string }[]).map((r) => r.rule), ['character_classes']);

    // Session policy: longer than the platform's is refused by the API, with its reason.
    const sessions = section(page, 'Session policy');
    await sessions.getByLabel(/Idle limit/).fill('1440');
    await sessions.getByRole('button', { name: 'Save session policy' }).click();
    await alertOf(page).filter({ hasText: 'at most 1800' }).waitFor();
    await sessions.getByLabel(/Idle limit/).fill('15');
    await sessions.getByRole('button', { name: 'Save session policy' }).click();
    await page.getByRole('status').filter({ hasText: 'after 15 minutes unused' }).waitFor();
    assert.equal((await api('GET', `/v1/tenants/${acme}/session-policy`, ownerToken)).json.idle_timeout_seconds, 900);

    // MFA for everyone: a Member's password sign-in must now enrol a second factor (ERR-AUTH-461).
    const mfa = section(page, 'Multi-factor authentication');
    await mfa.getByLabel('Everyone').check();
    await mfa.getByRole('button', { name: 'Save MFA policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Everyone must sign in with a second factor.' }).waitFor();
    const member = await login(MEMBER);
    assert.equal(member.status, 401);
    assert.equal(member.json.type, '/problems/mfa-required');
    assert.equal(member.json.enrollment_required, true);

    const verification = section(page, 'Verification policy');
    await verification.getByLabel('Default channel for codes').selectOption('whatsapp');
    await verification.getByRole('button', { name: 'Save verification policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Verification policy saved.' }).waitFor();
    const saved = await api('GET', `/v1/tenants/${acme}/verification-policy`, ownerToken);
    assert.deepEqual([saved.json.require_phone, saved.json.default_channel], [false, 'whatsapp']);

    // A reload shows what was saved.
    await page.reload();
    await section(page, 'Verification policy').waitFor();
    assert.equal(await section(page, 'Password policy').getByLabel('Minimum length').inputValue(), '16');
    assert.equal(await section(page, 'Session policy').getByLabel(/Idle limit/).inputValue(), '15');
    assert.ok(await section(page, 'Multi-factor authentication').getByLabel('Everyone').isChecked());
    await assertAccessible(page, 'security settings after saving');
    await page.screenshot({ path: screenshotPath('security-settings.png'), fullPage: true });
  } finally {
    await context.close();
  }
});
