import openapiTS, { astToString } from 'openapi-typescript';
import { buildTestPlatform } from '../../../apps/server/test/helpers.ts';

/**
 * The document the server serves at /v1/openapi.json, and the TypeScript it generates. The platform
 * runs on an in-memory database without its worker: the document depends only on the routes.
 */
export async function renderSdkSchema(): Promise<{ document: string; schema: string }> {
  const platform = await buildTestPlatform({}, { worker: false });
  try {
    const response = await platform.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    if (response.statusCode !== 200) throw new Error(`GET /v1/openapi.json answered ${response.statusCode}`);
    const document = `${JSON.stringify(response.json(), null, 2)}\n`;
    const ast = await openapiTS(JSON.parse(document) as never);
    const schema = `// Generated from ../../openapi.json by npm run sdk:generate; do not edit.\n${astToString(ast)}`;
    return { document, schema };
  } finally {
    await platform.close();
  }
}
