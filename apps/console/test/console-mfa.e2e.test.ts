/**
 * Browser test of two-step verification (NFR-SEC-003, ERR-AUTH-461, FR-AUTH-014): setting up an
 * authenticator app on the Account page (QR code and key), recovery codes shown once, the step-up
 * dialog, the code step of the sign-in, and a passkey through Chromium's virtual authenticator.
 * The server runs in this process on http://localhost (a WebAuthn relying party needs a domain).
 *
 *   REQUIRE_BROWSER=1 npm test console-mfa
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { buildTestPlatform, freePort, TEST_PASSWORD, type TestPlatform } from '../../server/test/helpers.ts';
import { assertAccessible, assertNoHorizontalScroll, buildConsoleIfStale, launchBrowser, newPage as openPage, skip } from './harness.ts';

const opts = { skip, timeout: 240_000 };
const TOTP_USER = 'mfa-totp@acme.example';
const PASSKEY_USER = 'mfa-passkey@acme.example';
const POLICY_USER = 'mfa-policy@globex.example';

let platform: TestPlatform | undefined;
let baseURL = '';
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  buildConsoleIfStale();
  const port = await freePort();
  baseURL = `http://localhost:${port}`;
  platform = await buildTestPlatform({ PUBLIC_URL: baseURL, STEP_UP_ENFORCED: 'true' }, { worker: false });
  await platform.app.listen({ host: '127.0.0.1', port });
  for (const [tenant, email] of [['acme', TOTP_USER], ['acme', PASSKEY_USER], ['globex', POLICY_USER]] as const) {
    await platform.addUser(tenant, email, 'member');
    await platform.db.ownerExecute('update users set email_verified_at = coalesce(email_verified_at, now()) where email = $1', [email]);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await platform?.close();
});

/**
 * What an authenticator app shows: one code per 30-second step, never a step twice. Codes start at
 * the current step, not the previous one the server also accepts: a step boundary while the code
 * is typed into the page would push the previous one out of the window. With the next step used
 * too, it waits for the clock to reach a new step.
 */
function authenticator(secret: string) {
  let last = -Infinity;
  return async () => {
    const nowStep = () => Math.floor(Date.now() / 30_000);
    if (last >= nowStep() + 1) await new Promise((resolve) => setTimeout(resolve, last * 30_000 - Date.now() + 50));
    const step = Math.max(last + 1, nowStep());
    assert.ok(step <= nowStep() + 1, 'the step is within the window');
    last = step;
    return generate({ secret, epoch: step * 30 });
  };
}

async function signIn(page: Page, email: string, org = 'acme') {
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel(/Organization/).fill(org);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

test('authenticator app: set up with the QR key, recovery codes once, step-up dialog, then the code step at sign-in', opts, async () => {
  const { context, page } = await openPage(browser, baseURL, { width: 375, height: 740 });
  try {
    await signIn(page, TOTP_USER);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'Account' }).click();
    const section = page.getByRole('region', { name: 'Two-step verification' });
    await section.waitFor();
    await section.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await section.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = await section.locator('code[data-secret]').getAttribute('data-secret');
    assert.ok(secret && /^[A-Z2-7]+$/.test(secret), `the key is shown as text: ${secret}`);
    await assertAccessible(page, 'authenticator set-up');
    await assertNoHorizontalScroll(page, 'authenticator set-up');
    const nextCode = authenticator(secret);

    await section.getByLabel('Code from your authenticator app').fill('000000');
    await section.getByRole('button', { name: 'Confirm' }).click();
    await section.getByRole('alert').filter({ hasText: 'The code is not valid' }).waitFor();
    await section.getByLabel('Code from your authenticator app').fill(await nextCode());
    await section.getByRole('button', { name: 'Confirm' }).click();
    const codes = section.getByRole('region', { name: 'Your recovery codes' });
    await codes.waitFor();
    assert.equal(await codes.getByRole('listitem').count(), 10);
    await assertAccessible(page, 'recovery codes');
    await codes.getByRole('button', { name: 'I have saved these codes' }).click();
    await section.getByText('Authenticator app', { exact: false }).first().waitFor();

    // This session signed in with the password alone: replacing the codes asks for the factor.
    await section.getByRole('button', { name: /Replace recovery codes/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.waitFor();
    await assertAccessible(page, 'step-up dialog');
    await dialog.getByLabel('Code from your authenticator app').fill(await nextCode());
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await section.getByRole('region', { name: 'Your recovery codes' }).waitFor();
    await section.getByRole('button', { name: 'I have saved these codes' }).click();

    await signOut(page);
    await signIn(page, TOTP_USER);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await assertAccessible(page, 'sign-in code step');
    await assertNoHorizontalScroll(page, 'sign-in code step');
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').waitFor();
    await page.getByRole('button', { name: 'Use the authenticator app' }).click();
    await page.getByLabel('Code from your authenticator app').fill(await nextCode());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const amr = await page.evaluate(async () => {
      const stored = JSON.parse(sessionStorage.getItem('tsv.console.tokens') ?? '{}') as { access_token: string };
      const me = await fetch('/v1/me', { headers: { authorization: `Bearer ${stored.access_token}` } });
      return ((await me.json()) as { amr: string[] }).amr;
    });
    assert.deepEqual(amr, ['pwd', 'mfa', 'otp']);
  } finally {
    await context.close();
  }
});

test('passkey: added on the Account page with a virtual authenticator, then used at sign-in', opts, async () => {
  const { context, page } = await openPage(browser, baseURL);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await signIn(page, PASSKEY_USER);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'Account' }).click();
    const section = page.getByRole('region', { name: 'Two-step verification' });
    await section.getByLabel(/Passkey name/).fill('Test laptop');
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await section.getByRole('region', { name: 'Your recovery codes' }).waitFor();
    await section.getByRole('button', { name: 'I have saved these codes' }).click();
    await section.getByRole('list', { name: 'Your second factors' }).getByText('Test laptop').waitFor();
    await assertAccessible(page, 'account with a passkey');

    await signOut(page);
    await signIn(page, PASSKEY_USER);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const amr = await page.evaluate(async () => {
      const stored = JSON.parse(sessionStorage.getItem('tsv.console.tokens') ?? '{}') as { access_token: string };
      const me = await fetch('/v1/me', { headers: { authorization: `Bearer ${stored.access_token}` } });
      return ((await me.json()) as { amr: string[] }).amr;
    });
    assert.deepEqual(amr, ['pwd', 'mfa', 'hwk']);
  } finally {
    await context.close();
  }
});

test('organization policy: a user without a factor sets up an authenticator app during sign-in', opts, async () => {
  // The policy is set in the database: through the API its change needs the Owner's step-up.
  const globex = platform!.tenants.globex!.id;
  await platform!.db.withWholeTenant(globex, (tx) => tx.insertInto('tenant_mfa_policy').values({ tenant_id: globex, required: 'all', new_device: true }).execute());
  const { context, page } = await openPage(browser, baseURL, { width: 375, height: 740 });
  try {
    await signIn(page, POLICY_USER, 'globex');
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await assertAccessible(page, 'enrolment at sign-in');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = await page.locator('code[data-secret]').getAttribute('data-secret');
    assert.ok(secret);
    await assertAccessible(page, 'enrolment key at sign-in');
    await assertNoHorizontalScroll(page, 'enrolment key at sign-in');
    await page.getByLabel('Code from your authenticator app').fill(await authenticator(secret)());
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByRole('region', { name: 'Your recovery codes' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  } finally {
    await context.close();
  }
});
