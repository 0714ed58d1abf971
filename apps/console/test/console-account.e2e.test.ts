/**
 * Browser test of the console's account pages: "Forgot password?" with the emailed reset link
 * (read from the development mailbox, so the server runs in this process), and the signed-in
 * user's sessions and devices.
 *
 *   REQUIRE_BROWSER=1 npm test console-account
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { eventually, TEST_PASSWORD, type TestPlatform } from '../../server/test/helpers.ts';
import {
  alertOf,
  assertAccessible,
  assertNoHorizontalScroll,
  buildConsoleIfStale,
  launchBrowser,
  newPage as openPage,
  signInOk,
  skip,
  startServerInProcess,
  type RunningServer,
} from './harness.ts';

const MEMBER = { email: 'member@acme.demo.test', org: 'acme' };
const NEW_PASSWORD = 'Brand-New-Passw0rd!42';
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

/** What the API sign-in below presents itself as, so its session can be told apart on the page. */
const API_CLIENT = 'account-test-client/1.0';

/** Signs in through the API, as another browser or app would: a second session of the user. */
async function apiLogin(email: string, password: string, tenant: string): Promise<string> {
  const res = await fetch(`${baseURL()}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': API_CLIENT },
    body: JSON.stringify({ email, password, tenant }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { access_token: string }).access_token;
}

test('forgot password: the emailed link sets a new password, refusing a weak one with its rules', opts, async () => {
  const { context, page } = await newPage({ width: 375, height: 740 });
  try {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    assert.equal(await page.title(), 'Reset your password · TSV Baseline Console');
    await assertAccessible(page, 'forgot password page');
    await assertNoHorizontalScroll(page, 'forgot password page');
    await page.getByLabel('Email').fill(MEMBER.email);
    await page.getByLabel(/Organization/).fill(MEMBER.org);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('status').filter({ hasText: 'If the address belongs to an account' }).waitFor();

    // An unknown address gets the very same answer.
    await page.reload();
    await page.getByLabel('Email').fill('nobody@acme.demo.test');
    await page.getByLabel(/Organization/).fill(MEMBER.org);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('status').filter({ hasText: 'If the address belongs to an account' }).waitFor();
    await assertAccessible(page, 'forgot password confirmation');
  } finally {
    await context.close();
  }

  const mail = await eventually(
    () =>
      platform()
        .db.owner.selectFrom('dev_mailbox')
        .select('body')
        .where('recipient', '=', MEMBER.email)
        .where('body', 'like', '%reset-password%')
        .executeTakeFirst(),
    30_000,
  );
  const link = /https?:\/\/\S+#\/reset-password\?token=[^\s"<>]+/.exec(mail.body)?.[0];
  assert.ok(link, `no reset link in the mail:\n${mail.body}`);

  const reset = await newPage({ width: 375, height: 740 });
  try {
    const { page } = reset;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await assertAccessible(page, 'reset password page');

    // A weak password is refused and the unmet rules are listed.
    await page.getByLabel('New password', { exact: true }).fill('aaaaaaaaaaaa');
    await page.getByLabel('Repeat the new password').fill('aaaaaaaaaaaa');
    await page.getByRole('button', { name: 'Set new password' }).click();
    const alert = alertOf(page);
    await alert.getByRole('listitem').first().waitFor();
    assert.match((await alert.textContent()) ?? '', /Mix at least 3 of/);
    await assertAccessible(page, 'reset password page with unmet rules');

    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password has been changed.' }).waitFor();
    await assertAccessible(page, 'reset password done');

    // The link works once: opened again, it says so and offers a new one.
    await page.goto('about:blank');
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill(`${NEW_PASSWORD}x`);
    await page.getByLabel('Repeat the new password').fill(`${NEW_PASSWORD}x`);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await alertOf(page).filter({ hasText: 'expired or has already been used' }).waitFor();
    await page.getByRole('link', { name: 'Ask for a new reset link' }).waitFor();
    await assertAccessible(page, 'reset password with a used link');
  } finally {
    await reset.context.close();
  }

  // The new password signs in.
  const signedIn = await newPage();
  try {
    await signInOk(signedIn.page, MEMBER.email, NEW_PASSWORD, MEMBER.org);
  } finally {
    await signedIn.context.close();
  }
});

test('sessions and devices: the current session is marked and another one can be ended', opts, async () => {
  const password = NEW_PASSWORD;
  const otherToken = await apiLogin(MEMBER.email, password, MEMBER.org);
  const { context, page } = await newPage();
  try {
    await signInOk(page, MEMBER.email, password, MEMBER.org);
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    assert.equal(await page.title(), 'Account · TSV Baseline Console');
    const sessions = page.getByRole('table', { name: 'Your sessions' });
    await sessions.getByRole('row').filter({ hasText: 'This session' }).waitFor();
    const endButtons = sessions.getByRole('button', { name: /^End session/ });
    await endButtons.first().waitFor();
    const before = await endButtons.count();
    assert.ok(before >= 1, 'the session opened through the API is listed');
    await assertAccessible(page, 'account page');

    // Other sessions of this user may be listed too (earlier sign-ins): end the API one by name.
    await sessions.getByRole('button', { name: `End session from ${API_CLIENT}` }).click();
    await page.getByRole('status').filter({ hasText: 'The session has ended.' }).waitFor();
    await sessions.getByRole('button', { name: `End session from ${API_CLIENT}` }).waitFor({ state: 'detached' });
    assert.equal(await endButtons.count(), before - 1);
    await sessions.getByRole('row').filter({ hasText: 'This session' }).waitFor();
    const me = await fetch(`${baseURL()}/v1/me`, { headers: { authorization: `Bearer ${otherToken}` } });
    assert.equal(me.status, 401, 'the ended session no longer works');

    // The change-password form lists the rules a weak password breaks.
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password', { exact: true }).fill('aaaaaaaaaaaa');
    await page.getByLabel('Repeat the new password').fill('aaaaaaaaaaaa');
    await page.getByRole('button', { name: 'Change password' }).click();
    await alertOf(page).getByRole('listitem').first().waitFor();
    await assertAccessible(page, 'account page with unmet password rules');
  } finally {
    await context.close();
  }

  // Narrow screens get cards and no sideways scrolling.
  const narrow = await newPage({ width: 375, height: 740 });
  try {
    const { page: p } = narrow;
    await signInOk(p, MEMBER.email, password, MEMBER.org);
    await p.getByRole('link', { name: 'Account' }).click();
    await p.getByRole('list', { name: 'Your sessions' }).getByText('This session').waitFor();
    await assertNoHorizontalScroll(p, 'account page on a phone');
    await assertAccessible(p, 'account page on a phone');
  } finally {
    await narrow.context.close();
  }
});

test('a browser that signed in before is its own source: failures from its address do not lock its user out of it', opts, async () => {
  const email = 'known-device@acme.demo.test';
  await platform().addUser('acme', email, 'member');
  const { context, page } = await newPage();
  try {
    await signInOk(page, email, TEST_PASSWORD, MEMBER.org);
    // Someone at the same address (the test runs on one) fails five times: the address is locked out.
    const attempt = (password: string) =>
      fetch(`${baseURL()}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, tenant: MEMBER.org }) });
    for (let i = 0; i < 5; i++) assert.equal((await attempt('Wrong-Passw0rd!')).status, 401);
    assert.equal((await attempt(TEST_PASSWORD)).status, 429);
    // A new tab of the same browser signs in: it sends the device id it was given.
    const again = await context.newPage();
    await signInOk(again, email, TEST_PASSWORD, MEMBER.org);
    const devices = await platform().db.owner.selectFrom('devices').innerJoin('users', 'users.id', 'devices.user_id').select('devices.id').where('users.email', '=', email).execute();
    assert.equal(devices.length, 1, 'both sign-ins are from one device');
  } finally {
    await context.close();
  }
});
