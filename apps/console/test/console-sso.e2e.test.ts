/**
 * Browser test of single sign-on (FR-AUTH-001, FR-AUTH-003): an Owner registers the organization's
 * identity provider (a real oidc-provider on 127.0.0.1), then a new user signs in with "Sign in
 * with SSO" and lands in the console; a user with a password links single sign-on from the
 * Account page; an SSO error is explained. axe checks each page.
 *
 *   REQUIRE_BROWSER=1 npm test console-sso
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { buildTestPlatform, freePort, type TestPlatform } from '../../server/test/helpers.ts';
import { startTestIdp, type TestIdp } from '../../server/src/modules/sso/sso.test-idp.ts';
import { alertOf, assertAccessible, assertNoHorizontalScroll, buildConsoleIfStale, launchBrowser, newPage as openPage, screenshotPath, signInOk, skip } from './harness.ts';

const opts = { skip, timeout: 180_000 };
const CLIENT_SECRET = 'console-sso-client-secret-0123456789';

let platform: TestPlatform | undefined;
let idp: TestIdp | undefined;
let browser: Browser | undefined;
let baseURL = '';

const newPage = (viewport?: { width: number; height: number }) => openPage(browser, baseURL, viewport);

before(async () => {
  if (skip) return;
  buildConsoleIfStale();
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  idp = await startTestIdp([{ client_id: 'acme-console', client_secret: CLIENT_SECRET, redirect_uri: `${baseURL}/v1/auth/sso/callback` }]);
  idp.accounts.set('carol-sub', { email: 'carol@acme.test', email_verified: true, name: 'Carol Jones' });
  idp.accounts.set('dave-sub', { email: 'dave@acme.test', email_verified: true, name: 'Dave Smith' });
  // The identity provider listens on 127.0.0.1 over plain http: allow-listed for this test only.
  platform = await buildTestPlatform({ PUBLIC_URL: baseURL, OUTBOUND_ALLOW_HOSTS: '127.0.0.1' });
  await platform.app.listen({ host: '127.0.0.1', port });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await platform?.close();
  await idp?.close();
});

test('FR-AUTH-003: an Owner sets up single sign-on; a provider that fails its checks is refused with the reason', opts, async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/');
    await signInOk(page, 'owner@acme.demo.test', platform!.config.demoPassword!, 'acme');
    await page.getByRole('link', { name: 'Single sign-on' }).click();
    await page.getByRole('heading', { name: 'Single sign-on' }).waitFor();
    assert.equal(await page.getByLabel('Redirect URI').inputValue(), `${baseURL}/v1/auth/sso/callback`);
    await assertAccessible(page, 'single sign-on settings');

    // A loopback address that is not the allow-listed one: refused, with what is wrong.
    await page.getByLabel('Issuer URL').fill('https://127.0.0.2/');
    await page.getByLabel('Client ID').fill('acme-console');
    await page.getByLabel(/Client secret/).fill(CLIENT_SECRET);
    await page.getByLabel('Allowed email domains').fill('acme.test');
    await page.getByRole('button', { name: 'Test and save' }).click();
    await alertOf(page).filter({ hasText: 'not allowed' }).waitFor();
    await assertAccessible(page, 'single sign-on settings with an error');

    await page.getByLabel('Issuer URL').fill(idp!.issuer);
    await page.getByRole('button', { name: 'Test and save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.screenshot({ path: screenshotPath('sso-settings.png'), fullPage: true });
    assert.match(await page.getByLabel(/Client secret/).getAttribute('aria-describedby').then((id) => page.locator(`#${id}`).textContent()) ?? '', /never shown/);
  } finally {
    await context.close();
  }
});

test('FR-AUTH-001: "Sign in with SSO" appears for the organization and signs a new user in through the identity provider', opts, async () => {
  const { context, page } = await newPage({ width: 375, height: 740 });
  try {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sign in with SSO' }).count(), 0);
    await page.getByLabel(/Organization/).fill('acme');
    await page.getByRole('link', { name: 'Sign in with SSO' }).waitFor();
    await assertAccessible(page, 'sign-in page with SSO');
    await page.screenshot({ path: screenshotPath('sso-sign-in.png'), fullPage: true });
    await assertNoHorizontalScroll(page, 'sign-in page with SSO');
    idp!.nextLogin = { accountId: 'carol-sub' };
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
    // The one-time code never stays in the address bar.
    assert.ok(!page.url().includes('code='), page.url());
    await assertAccessible(page, 'first screen after SSO');
    const user = await platform!.db.owner.selectFrom('users').select(['id', 'tenant_id']).where('email', '=', 'carol@acme.test').executeTakeFirst();
    assert.equal(user?.tenant_id, platform!.tenants.acme!.id);
  } finally {
    await context.close();
  }
});

test('FR-AUTH-001: a user signed in with a password links single sign-on from the Account page and stays signed in', opts, async () => {
  const userId = await platform!.addUser('acme', 'dave@acme.test', 'member');
  const { context, page } = await newPage();
  try {
    await page.goto('/');
    await signInOk(page, 'dave@acme.test', platform!.config.demoPassword!, 'acme');
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Single sign-on' }).waitFor();
    idp!.nextLogin = { accountId: 'dave-sub' };
    await page.getByRole('button', { name: 'Link single sign-on' }).click();
    await page.getByRole('status').filter({ hasText: 'Single sign-on is linked' }).waitFor();
    await assertAccessible(page, 'SSO linked page');
    const link = await platform!.db.owner.selectFrom('user_identities').select('subject').where('user_id', '=', userId).executeTakeFirst();
    assert.equal(link?.subject, 'dave-sub');
    // The session survived the round trip through the identity provider.
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
  } finally {
    await context.close();
  }
});

test('FR-AUTH-001: an SSO failure is explained, with the way back to sign in', opts, async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/#/sso-complete?error=not_allowed');
    await alertOf(page).filter({ hasText: 'cannot sign in here' }).waitFor();
    await assertAccessible(page, 'SSO error page');
    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  } finally {
    await context.close();
  }
});
