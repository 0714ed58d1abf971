import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { buildTestPlatform, TEST_PASSWORD, type TestPlatform } from '../../../apps/server/test/helpers.ts';

// The built SDK (dist, made by the package's prepare script) in plain Node, without a TypeScript loader.
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
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], {
    env: { PATH: process.env.PATH, BASE_URL: baseUrl, PASSWORD: TEST_PASSWORD },
  });
  assert.deepEqual(JSON.parse(stdout), { refused: 401, email: 'member@acme.demo.test', renewed: true });
});
