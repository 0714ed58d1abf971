import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildTestPlatform, TEST_PASSWORD, type TestPlatform } from '../../../apps/server/test/helpers.ts';

// The built SDK (dist, made by the package's prepare script) in plain Node, without a TypeScript
// loader; run from the package's folder, `@tsv/sdk` is the package itself.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const run = async (program: string, env: Record<string, string> = {}) =>
  JSON.parse(
    (await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], { cwd: packageDir, env: { PATH: process.env.PATH, ...env } })).stdout,
  ) as unknown;

const program = `
import { createClient, memoryTokens, ProblemError } from '@tsv/sdk';
const tokens = memoryTokens();
const api = createClient({ baseUrl: process.env.BASE_URL, tokens });
const refused = await api.POST('/v1/auth/login', { body: { email: 'member@acme.demo.test', password: 'Wrong-Passw0rd!!', tenant: 'acme' } }).catch((error) => error);
const { data: pair } = await api.POST('/v1/auth/login', { body: { email: 'member@acme.demo.test', password: process.env.PASSWORD, tenant: 'acme' } });
tokens.set(pair);
// A spoilt access token is refreshed once with the refresh token.
tokens.set({ ...pair, access_token: 'spoilt' });
const { data: me } = await api.GET('/v1/me');
console.log(JSON.stringify({ refused: refused instanceof ProblemError ? refused.status : String(refused), email: me.email, renewed: tokens.get().access_token !== 'spoilt' }));
`;

let t: TestPlatform;
let baseUrl: string;
before(async () => {
  t = await buildTestPlatform({}, { worker: false });
  baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => t.close());

test('the built SDK signs in, refreshes a refused token once and throws problems as ProblemError', async () => {
  assert.deepEqual(await run(program, { BASE_URL: baseUrl, PASSWORD: TEST_PASSWORD }), { refused: 401, email: 'member@acme.demo.test', renewed: true });
});

// A server that asks for a step-up until POST /v1/auth/step-up was called, and echoes what it got.
const stepUpProgram = `
import { createClient, memoryTokens } from '@tsv/sdk';
let proven = false;
const seen = [];
const fetch = async (request) => {
  const body = await request.text();
  seen.push(request.method + ' ' + new URL(request.url).pathname + ' ' + body + ' ' + request.headers.get('authorization'));
  if (new URL(request.url).pathname === '/v1/auth/step-up') {
    proven = true;
    return Response.json({ access_token: 'after', refresh_token: 'r2', token_type: 'Bearer', expires_in: 900 });
  }
  if (!proven) return Response.json({ type: '/problems/step-up-required', title: 'A recent second factor is required', status: 403 }, { status: 403, headers: { 'content-type': 'application/problem+json' } });
  return new Response(null, { status: 204 });
};
const tokens = memoryTokens({ access_token: 'before', refresh_token: 'r1' });
const declined = await createClient({ baseUrl: 'http://api.test', tokens, fetch, onStepUpRequired: async () => false })
  .DELETE('/v1/me/mfa/factors/{id}', { params: { path: { id: 'f1' } } })
  .catch((error) => error.problem.type);
const api = createClient({
  baseUrl: 'http://api.test',
  tokens,
  fetch,
  onStepUpRequired: async () => {
    const { data } = await api.POST('/v1/auth/step-up', { body: { totp_code: '123456' } });
    tokens.set(data);
    return true;
  },
});
const { response } = await api.POST('/v1/me/mfa/recovery-codes', { body: { note: 'kept' } });
console.log(JSON.stringify({ declined, status: response.status, seen }));
`;

test('the built SDK sends a request again, once, after the step-up it asked for', async () => {
  assert.deepEqual(await run(stepUpProgram), {
    declined: '/problems/step-up-required',
    status: 204,
    seen: [
      'DELETE /v1/me/mfa/factors/f1  Bearer before',
      'POST /v1/me/mfa/recovery-codes {"note":"kept"} Bearer before',
      'POST /v1/auth/step-up {"totp_code":"123456"} Bearer before',
      'POST /v1/me/mfa/recovery-codes {"note":"kept"} Bearer after',
    ],
  });
});
