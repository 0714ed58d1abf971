// Writes the platform's OpenAPI document and the SDK's types generated from it:
// packages/sdk/openapi.json and packages/sdk/src/generated/schema.ts (npm run sdk:generate).
import fs from 'node:fs/promises';
import { renderSdkSchema } from '../packages/sdk/scripts/render.ts';

const { document, schema } = await renderSdkSchema();
await fs.writeFile(new URL('../packages/sdk/openapi.json', import.meta.url), document);
await fs.writeFile(new URL('../packages/sdk/src/generated/schema.ts', import.meta.url), schema);
console.log('wrote packages/sdk/openapi.json and packages/sdk/src/generated/schema.ts');
