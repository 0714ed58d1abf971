/** (a) Password login through the full stack against the raw Argon2id verify rate. */
import { verify as argon2Verify } from '@node-rs/argon2';
import type { AutocannonRequest } from 'autocannon';
import { sql } from 'kysely';
import { byKey, drive, paired, suite } from '../lib/engine.ts';
import { fmt, pct } from '../lib/format.ts';
import { expectOk } from '../lib/http.ts';
import { met, ratioLine, resultTable } from '../lib/report.ts';
import { deviceIdOf, PASSWORD } from '../lib/seed.ts';
import type { BenchSuite } from '../lib/suite.ts';

const title = '(a) login';

export const loginSuite: BenchSuite = {
  name: 'login',
  title,
  keys: ['login', 'argon2'],
  async run({ options, running, seeded, appUrl, load }) {
    const loginRequests: AutocannonRequest[] = seeded.logins.map((u) => ({
      method: 'POST',
      path: '/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      // Real clients send the device id their first login returned: each user signs in from one device.
      body: JSON.stringify({ email: u.email, password: PASSWORD, tenant: u.slug, device: { id: deviceIdOf(u.email), os: 'bench' } }),
    }));
    await expectOk(`${appUrl}/v1/auth/login`, { method: 'POST', headers: loginRequests[0]!.headers!, body: loginRequests[0]!.body! }, 'login');
    if (!(await argon2Verify(await running.platform.passwords.hash(PASSWORD), PASSWORD))) throw new Error('argon2 verify failed');
    const storedHash = (
      await sql<{ password_hash: string }>`select password_hash from users where email = ${seeded.logins[0]!.email} limit 1`.execute(running.platform.db.owner)
    ).rows[0]!.password_hash;

    const login = await suite(
      title,
      [
        { key: 'login', label: 'POST /v1/auth/login (full stack)', http: true, run: (s) => load.run(appUrl, options.loginConnections, s, loginRequests) },
        {
          key: 'argon2',
          label: 'raw Argon2id verify, @node-rs/argon2 in-process (ceiling)',
          http: false,
          run: (s) =>
            drive(options.loginConnections, s, async () => {
              if (!(await argon2Verify(storedHash, PASSWORD))) throw new Error('mismatch');
            }),
        },
      ],
      options,
      // Logins take a few hundred ms: a short slice would drop a large share of them in flight at
      // its end, so the two variants run whole, one after the other.
      options.seconds,
    );

    return {
      results: login,
      report(f) {
        const { loginRatio } = f;
        return {
          summary: [
            `| (a) password login | ${fmt(f.loginRps, 1)} | ${fmt(byKey(login, 'login').p50, 1)} | ${fmt(byKey(login, 'login').p99, 1)} | raw Argon2id verify | ${fmt(f.argon2Rps, 1)} | ${pct(loginRatio)} | >= 90% | ${met(loginRatio >= 0.9)} |`,
          ],
          section: `## (a) Password login vs raw Argon2id verify

POST /v1/auth/login with \`{email, password, tenant}\` rotating over ${seeded.logins.length.toLocaleString('en-US')} users of all tenants (each login resolves the tenant, reads the user, verifies Argon2id, then writes a session, a refresh token and an audit event in one tenant transaction).
The ceiling is \`verify()\` of @node-rs/argon2 on the same stored hash with ${options.loginConnections} calls in flight, in this process, for the same duration.

${resultTable(title, login)}

${ratioLine('Ratio login/s ÷ raw verify/s', paired(login, 'login', 'argon2'), f.loginRps / f.argon2Rps)}`,
          reading: [
            `Login ran at ${fmt(f.loginRps, 1)}/s, ${pct(loginRatio)} of the raw Argon2id verify rate of ${fmt(f.argon2Rps, 1)}/s measured in this process at the same concurrency (${options.loginConnections}); the target is >= 90%, ${loginRatio >= 0.9 ? 'met' : 'not met'}.`,
          ],
        };
      },
    };
  },
};
