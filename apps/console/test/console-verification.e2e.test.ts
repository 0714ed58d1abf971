/**
 * Browser test of email and phone verification (FR-VER-001, FR-VER-002, FR-AUTH-001): an
 * unverified user signs in and sees only the verification banner; the link from the mail (read
 * from the development mailbox, so the server runs in this process) verifies, and the banner goes.
 *
 *   REQUIRE_BROWSER=1 npm test console-verification
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

const opts = { skip, timeout: 180_000 };

let server: (RunningServer & { platform: TestPlatform }) | undefined;
let browser: Browser | undefined;

const baseURL = () => server?.baseURL ?? '';
const newPage = (viewport?: { width: number; height: number }) => openPage(browser, baseURL(), viewport);
const platform = () => {
  assert.ok(server, 'server not started');
  return server.platform;
};
const mailTo = (recipient: string, subject: string, count = 1) =>
  eventually(async () => {
    const rows = await platform().db.owner.selectFrom('dev_mailbox').select('body').where('recipient', '=', recipient).where('subject', '=', subject).orderBy('created_at').execute();
    return rows.length >= count ? rows.at(-1)! : null;
  }, 30_000);

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

test('FR-VER-001: an unverified user signs in, sees the banner, a wrong code is explained, the mailed link verifies and the banner goes', opts, async () => {
  const email = 'unverified@acme.example';
  await platform().addUser('acme', email, 'member', { verified: false });
  const { context, page } = await newPage({ width: 375, height: 740 });
  try {
    await signInOk(page, email, TEST_PASSWORD, 'acme');
    const banner = page.getByTestId('verification-banner');
    await banner.getByRole('heading', { name: 'Verify your email address' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Console' }).count(), 0, 'no screens to offer yet');
    await assertAccessible(page, 'verification banner');
    await assertNoHorizontalScroll(page, 'verification banner');

    await banner.getByRole('button', { name: 'Send the email again' }).click();
    await page.getByRole('status').filter({ hasText: `We sent a new email to ${email}` }).waitFor();
    const mail = await mailTo(email, 'Verify your email address');
    const code = /signed in: (\d{6})/.exec(mail.body)![1]!;
    await banner.getByLabel('Code from the email').fill(String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
    await banner.getByRole('button', { name: 'Verify' }).click();
    await alertOf(page).filter({ hasText: 'not valid' }).waitFor();
    await assertAccessible(page, 'verification banner with a wrong code');

    const link = /https?:\/\/\S+#\/verify-email\?token=[^\s"<>]+/.exec(mail.body)?.[0];
    assert.ok(link, `no verification link in the mail:\n${mail.body}`);
    await page.goto(link);
    await page.getByRole('status').filter({ hasText: 'Your email address is verified.' }).waitFor();
    assert.equal(await page.title(), 'Verify your email address · TSV Baseline Console');
    await assertAccessible(page, 'verification landing');
    await page.getByRole('button', { name: 'Continue to the console' }).click();
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
    assert.equal(await page.getByTestId('verification-banner').count(), 0, 'the banner is gone');

    // The link works once: opened again it explains why it no longer does.
    await page.goto(link);
    await alertOf(page).filter({ hasText: 'expired or has already been used' }).waitFor();
    await assertAccessible(page, 'used verification link');
  } finally {
    await context.close();
  }
});

test('FR-VER-002: the Account page adds a phone number and verifies it with the code', opts, async () => {
  const email = 'phone@acme.example';
  await platform().addUser('acme', email, 'member');
  const { context, page } = await newPage();
  try {
    await signInOk(page, email, TEST_PASSWORD, 'acme');
    await page.getByRole('link', { name: 'Account' }).click();
    const section = page.getByRole('region', { name: 'Phone number' });
    await section.getByLabel('Phone number').fill('0123456789');
    await section.getByRole('button', { name: 'Send a code' }).click();
    await alertOf(page).filter({ hasText: 'international form' }).waitFor();
    await section.getByLabel('Phone number').fill('+1 415 555 0177');
    await section.getByLabel('Send the code by').selectOption('whatsapp');
    await section.getByRole('button', { name: 'Send a code' }).click();
    const mail = await mailTo('+14155550177', 'Your verification code');
    const code = /code is (\d{6})/.exec(mail.body)![1]!;
    await section.getByLabel('Code sent for +14155550177').fill(code);
    await assertAccessible(page, 'phone verification');
    await section.getByRole('button', { name: 'Verify number' }).click();
    await section.getByRole('status').filter({ hasText: 'Your phone number is verified.' }).waitFor();
    assert.match((await section.textContent()) ?? '', /\+14155550177 — verified/);
  } finally {
    await context.close();
  }
});
