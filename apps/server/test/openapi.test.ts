import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppAccess, isPermission, planeOf } from '../src/kernel/auth/permissions.ts';
import { buildTestPlatform, type TestPlatform } from './helpers.ts';

/**
 * CON-ARCH-004: the OpenAPI document is one a client generator (openapi-typescript and the like)
 * can use: named components that every reference finds, a description on every response, and on
 * every operation an id and the security its declared access accepts.
 */

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Json }> }>;
  'x-permission': string;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json & { properties?: Json; required?: string[] }>; securitySchemes: Record<string, Json> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every `$ref` in the document, with where it was found. */
function references(node: unknown, at = '#', found: { at: string; ref: string }[] = []) {
  if (typeof node !== 'object' || node === null) return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') found.push({ at, ref: value });
    else references(value, `${at}/${key}`, found);
  }
  return found;
}

/** The node a local JSON pointer (RFC 6901) names, or undefined. */
function resolvePointer(document: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, token) => (typeof node === 'object' && node !== null ? (node as Json)[token] : undefined), document);
}

/** The security requirement each kind of declared access should document (guard.ts). */
function expectedSecurity(access: string): Record<string, string[]>[] | undefined {
  if (access === 'public') return undefined;
  if (isAppAccess(access)) return [{ applicationKey: [] }];
  if (isPermission(access) && planeOf(access) === 'tenant') return [{ bearer: [] }, { apiKey: [] }];
  return [{ bearer: [] }];
}

describe('the OpenAPI document', () => {
  let t: TestPlatform;
  let document: OpenApiDocument;
  const operations: { where: string; operation: Operation }[] = [];

  before(async () => {
    t = await buildTestPlatform();
    const response = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    assert.equal(response.statusCode, 200);
    document = response.json();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (METHODS.includes(method)) operations.push({ where: `${method.toUpperCase()} ${path}`, operation });
      }
    }
  });
  after(() => t.close());

  test('is OpenAPI 3.x in structure, and every $ref names an existing component', () => {
    assert.match(document.openapi, /^3\.\d+\.\d+$/);
    assert.ok(document.info.title && document.info.version);
    assert.ok(operations.length >= 10, `only ${operations.length} operations`);
    const refs = references(document);
    assert.ok(refs.length > operations.length, 'the operations reference shared components');
    for (const { at, ref } of refs) {
      assert.match(ref, /^#\/components\/schemas\/[A-Za-z0-9._-]+$/, `${at}: ${ref} is not a component reference`);
      assert.notEqual(resolvePointer(document, ref), undefined, `${at}: ${ref} does not resolve`);
    }
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      assert.doesNotMatch(name, /^def-\d+$/, `component ${name} is numbered, not named`);
      assert.equal(schema.$id, undefined, `component ${name} keeps its $id`);
    }
  });

  test('every response has a description of its own', () => {
    for (const { where, operation } of operations) {
      assert.ok(Object.keys(operation.responses).length > 0, `${where} has no responses`);
      for (const [status, response] of Object.entries(operation.responses)) {
        assert.ok(response.description, `${where} ${status} has no description`);
        assert.notEqual(response.description, 'Default Response', `${where} ${status} says only "Default Response"`);
      }
    }
  });

  test('every operation has a unique operationId and the security its declared access accepts', () => {
    const ids = new Set<string>();
    for (const { where, operation } of operations) {
      assert.ok(operation.operationId, `${where} has no operationId`);
      assert.ok(!ids.has(operation.operationId), `${where} repeats the operationId ${operation.operationId}`);
      ids.add(operation.operationId);
      assert.deepEqual(operation.security, expectedSecurity(operation['x-permission']), `${where} (${operation['x-permission']})`);
      for (const requirement of operation.security ?? []) {
        for (const scheme of Object.keys(requirement)) assert.ok(document.components.securitySchemes[scheme], `${where}: no security scheme ${scheme}`);
      }
    }
    assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), ['apiKey', 'applicationKey', 'bearer']);
    assert.deepEqual(document.components.securitySchemes.apiKey, { ...document.components.securitySchemes.apiKey, type: 'apiKey', in: 'header', name: 'X-API-Key' });
    const kinds = new Set(operations.map(({ operation }) => JSON.stringify(operation.security ?? null)));
    assert.equal(kinds.size, 4, 'public, person, person or API key, and application routes are all documented');
  });

  test('resources and problems are referenced by name', () => {
    const get = document.paths['/v1/tenants/{tenantId}/customers/{id}']!.get!;
    const schemaOf = (operation: Operation, status: string) => operation.responses[status]!.content!['application/json']!.schema;
    assert.deepEqual(schemaOf(get, '200'), { $ref: '#/components/schemas/Customer' });
    for (const status of ['400', '401', '403', '404', '409']) assert.deepEqual(schemaOf(get, status), { $ref: '#/components/schemas/Problem' });
    const list = document.paths['/v1/tenants/{tenantId}/customers']!.get!;
    assert.deepEqual(schemaOf(list, '200'), { $ref: '#/components/schemas/CustomerPage' });
    assert.deepEqual((document.components.schemas.CustomerPage!.properties!.items as Json).items, { $ref: '#/components/schemas/Customer' });
  });

  test('the Customer component has every field GET /v1/tenants/{tenantId}/customers/{id} returns', async () => {
    const owner = await t.login('owner@acme.demo.test', 'acme');
    const base = `/v1/tenants/${t.tenants.acme!.id}/customers`;
    const page = await t.app.inject({ method: 'GET', url: `${base}?limit=1`, headers: owner.headers });
    assert.equal(page.statusCode, 200, page.body);
    const [first] = (page.json() as { items: { id: string }[] }).items;
    assert.ok(first, 'the demo tenant has customers');
    const response = await t.app.inject({ method: 'GET', url: `${base}/${first.id}`, headers: owner.headers });
    assert.equal(response.statusCode, 200, response.body);
    const customer = document.components.schemas.Customer!;
    assert.deepEqual(Object.keys(response.json() as Json).sort(), Object.keys(customer.properties!).sort());
    assert.deepEqual([...customer.required!].sort(), Object.keys(customer.properties!).sort());
  });
});
