// CON-ARCH-005, FR-RBAC-001, FR-AUD-004: the permission catalog, the audited actions and the problem
// types are assembled from the module definitions; each entry has one owner, the catalog cannot
// change without a new version, and every problem type is documented.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { auditActionCatalog } from '../src/kernel/audit/audit.ts';
import { CATALOG_VERSION, DEFAULT_TENANT_ROLES, ownerOf, PERMISSION_CATALOG, PLATFORM_ROLES, type Permission } from '../src/kernel/auth/permissions.ts';
import { problemRegistry } from '../src/kernel/errors.ts';
import { defineModule } from '../src/kernel/module.ts';
import { MODULES } from '../src/modules/index.ts';

/** The catalog as tenants and staff see it: keys, planes, sensitivity and the default roles' holdings. */
function catalogDigest(): string {
  const permissions = Object.entries(PERMISSION_CATALOG)
    .map(([key, spec]) => [key, spec.plane, spec.sensitive === true, spec.grantsAccess === true] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  const roles = Object.entries({ ...DEFAULT_TENANT_ROLES, ...Object.fromEntries(Object.entries(PLATFORM_ROLES).map(([key, role]) => [`platform:${key}`, role])) })
    .map(([key, role]) => [key, [...role.permissions].sort()] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify({ permissions, roles })).digest('hex').slice(0, 16);
}

describe('module declarations (CON-ARCH-005)', () => {
  test('each module owns the permissions, audit actions and problems of its definition', () => {
    for (const module of MODULES) {
      for (const permission of Object.keys(module.permissions ?? {})) assert.equal(ownerOf(permission as Permission), module.name, permission);
      for (const action of module.auditActions ?? []) assert.equal(auditActionCatalog().find((entry) => entry.action === action)?.owner, module.name, action);
      for (const code of Object.keys(module.problems ?? {})) assert.equal(problemRegistry().find((entry) => entry.code === code)?.owner, module.name, code);
    }
  });

  test('a second declaration of a permission, an audit action or a problem fails when the module is defined', () => {
    const base = { summary: 'A module that repeats what another declares.', dependsOn: [], tables: [], create: () => ({ service: null }) } as const;
    assert.throws(() => defineModule({ ...base, name: 'copy-1', permissions: { 'customers.read': { plane: 'tenant', description: 'again' } } }), /customers\.read of copy-1 is already declared by customers/);
    assert.throws(() => defineModule({ ...base, name: 'copy-2', auditActions: ['customer.created'] }), /customer\.created of copy-2 is already declared by customers/);
    assert.throws(() => defineModule({ ...base, name: 'copy-3', problems: { 'last-owner': [409, 'again'] } }), /last-owner of copy-3 is already declared by access/);
    assert.throws(() => defineModule({ ...base, name: 'copy-4', auditActions: ['app.something'] }), /namespace of managed applications/);
  });

  test('FR-RBAC-001: the permission catalog changes only with a new CATALOG_VERSION', () => {
    // A changed catalog (a permission added, moved to another role, made sensitive) changes the
    // digest: raise CATALOG_VERSION in kernel/auth/permissions.ts and put the new pair here.
    assert.deepEqual({ version: CATALOG_VERSION, digest: catalogDigest() }, { version: 4, digest: '5e7004938ffc3812' });
  });

  test('every problem type is documented in docs/problems.md, and nothing else is', () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../../docs/problems.md'), 'utf8');
    const documented = new Map([...doc.matchAll(/^\| `\/problems\/([a-z-]+)` \| (\d{3}) \|/gm)].map((match) => [match[1]!, Number(match[2])]));
    const declared = new Map(problemRegistry().map((problem) => [problem.code, problem.status]));
    assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries([...declared].sort()));
  });
});
