/**
 * (k) Login with a second factor: the password, then the challenge answered with a TOTP code.
 * Runs last: enrolling an authenticator makes every later password login of these users a challenge.
 */
import { performance } from 'node:perf_hooks';
import { generate as totpCode } from 'otplib';
import { byKey, drive, suite } from '../lib/engine.ts';
import { fmt } from '../lib/format.ts';
import { postJson } from '../lib/http.ts';
import { progress } from '../lib/progress.ts';
import { resultTable } from '../lib/report.ts';
import { deviceIdOf, PASSWORD } from '../lib/seed.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(k) login with MFA';

interface Authenticator {
  email: string;
  slug: string;
  /** The code of the next unused time step in the server's window, or undefined when none is left. */
  code(): Promise<string>;
  available(): boolean;
  /** Signing in now: a second sign-in of the same user at once could send its steps out of order. */
  busy: boolean;
}

const TOTP_PERIOD = 30;
const nowStep = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD);

/** An authenticator app: the server accepts one step either side of now, and each step once. */
function authenticatorFor(account: { email: string; slug: string }, secret: string): Authenticator {
  let last = -Infinity;
  // The previous step is in the server's window too, but a step boundary in flight would push it out.
  const nextStep = () => Math.max(last + 1, nowStep());
  return {
    ...account,
    busy: false,
    available: () => nextStep() <= nowStep() + 1,
    async code() {
      last = nextStep();
      return totpCode({ secret, epoch: last * TOTP_PERIOD });
    },
  };
}

/** The next user with a time step left, rotating from i. */
function nextAuthenticator(accounts: Authenticator[], i: number): Authenticator {
  for (let k = 0; k < accounts.length; k++) {
    const account = accounts[(i + k) % accounts.length]!;
    if (!account.busy && account.available()) return account;
  }
  throw new Error('every authenticator used its time steps: more users needed');
}

/** Password, then the challenge answered with the authenticator's next code. */
async function signInWithSecondFactor(appUrl: string, account: Authenticator): Promise<void> {
  const challenged = await postJson(`${appUrl}/v1/auth/login`, { email: account.email, password: PASSWORD, tenant: account.slug, device: { id: deviceIdOf(account.email), os: 'bench' } });
  if (challenged.status !== 401) throw new Error(`login with MFA: ${challenged.status}`);
  const { challenge_token } = (await challenged.json()) as { challenge_token: string };
  const verified = await postJson(`${appUrl}/v1/auth/mfa/verify`, { challenge_token, totp_code: await account.code() });
  if (verified.status !== 200) throw new Error(`MFA verify: ${verified.status} ${await verified.text()}`);
  await verified.arrayBuffer();
}

/** Enrols an authenticator app for each account through the API (sign in, start, confirm). */
async function enrolAuthenticators(appUrl: string, accounts: { email: string; slug: string }[], concurrency: number): Promise<Authenticator[]> {
  const t0 = performance.now();
  const enrolled: Authenticator[] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < accounts.length; k = next++) {
      const account = accounts[k]!;
      const login = await postJson(`${appUrl}/v1/auth/login`, { email: account.email, password: PASSWORD, tenant: account.slug, device: { id: deviceIdOf(account.email), os: 'bench' } });
      if (login.status !== 200) throw new Error(`enrolment login: ${login.status} ${await login.text()}`);
      const authorization = `Bearer ${((await login.json()) as { access_token: string }).access_token}`;
      const headers = { 'content-type': 'application/json', authorization };
      const started = await fetch(`${appUrl}/v1/me/mfa/totp`, { method: 'POST', headers: { authorization } });
      if (started.status !== 200) throw new Error(`enrolment start: ${started.status} ${await started.text()}`);
      const { factor_id, secret } = (await started.json()) as { factor_id: string; secret: string };
      const authenticator = authenticatorFor(account, secret);
      const confirmed = await fetch(`${appUrl}/v1/me/mfa/totp/${factor_id}/confirm`, { method: 'POST', headers, body: JSON.stringify({ code: await authenticator.code() }) });
      if (confirmed.status !== 200) throw new Error(`enrolment confirm: ${confirmed.status} ${await confirmed.text()}`);
      enrolled.push(authenticator);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  progress(`(k) login with MFA: ${enrolled.length} authenticators enrolled in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  return enrolled;
}

export const mfaLoginSuite: BenchSuite = {
  name: 'mfa',
  title,
  keys: ['login-mfa'],
  async run({ options, seeded, appUrl }) {
    const mfaLogins = await enrolAuthenticators(appUrl, seeded.logins, options.loginConnections);
    const mfaOptions = { ...options, seconds: Math.min(options.seconds, 5), warmup: 0 };
    const mfa = await suite(
      title,
      [
        {
          key: 'login-mfa',
          label: 'POST /v1/auth/login (401 mfa-required) + POST /v1/auth/mfa/verify with a TOTP code, driven by fetch in this process',
          http: false,
          run: (s) =>
            drive(options.loginConnections, s, async (i) => {
              const account = nextAuthenticator(mfaLogins, i);
              account.busy = true;
              try {
                await signInWithSecondFactor(appUrl, account);
              } finally {
                account.busy = false;
              }
            }),
        },
      ],
      // Each user has two time steps at first, then one per 30 s: short runs stay within them.
      mfaOptions,
      mfaOptions.seconds,
    );

    return {
      results: mfa,
      report: (f) => ({
        summary: [
          `| (k) login with MFA (both steps) | ${fmt(byKey(mfa, 'login-mfa').rps, 1)} | ${fmt(byKey(mfa, 'login-mfa').p50, 1)} | ${fmt(byKey(mfa, 'login-mfa').p99, 1)} | - | - | - | - | - |`,
        ],
        section: `## (k) Login with a second factor

The same users as (a), each with an authenticator app enrolled through the API before this measurement: POST /v1/auth/login answers
401 mfa-required with a challenge token (the password verified, the challenge stored), then POST /v1/auth/mfa/verify with the TOTP code
opens the session. A code is accepted once per user and time step, so each user signs in at most once per 30-second step after the
first two, so this measurement runs ${options.runs} runs of ${Math.min(options.seconds, 5)} s without warm-up. **${fmt(byKey(mfa, 'login-mfa').rps, 1)} sign-ins/s**, p50 ${fmt(byKey(mfa, 'login-mfa').p50, 1)} ms, p99 ${fmt(byKey(mfa, 'login-mfa').p99, 1)} ms
(both requests), against ${fmt(f.loginRps, 1)}/s for the password alone in (a). Sent by fetch from the benchmark process.

${resultTable(title, mfa)}`,
        reading: [],
      }),
    };
  },
};
