import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { renderSdkSchema } from '../scripts/render.ts';

// The committed document and types are the ones the server's routes produce now.
test('packages/sdk/openapi.json and src/generated/schema.ts match the server', async () => {
  const { document, schema } = await renderSdkSchema();
  const hint = 'the server\'s API changed: run `npm run sdk:generate` and commit the result';
  assert.equal(await fs.readFile(new URL('../openapi.json', import.meta.url), 'utf8'), document, `openapi.json is stale: ${hint}`);
  assert.equal(await fs.readFile(new URL('./generated/schema.ts', import.meta.url), 'utf8'), schema, `schema.ts is stale: ${hint}`);
});
