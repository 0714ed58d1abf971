import { Type } from 'typebox';
import type { App } from '../../kernel/http/server.ts';
import { problemResponses, TenantParams, TenantResourceParams } from '../../kernel/http/schemas.ts';
import {
  Assignment,
  Catalog,
  CreateAssignmentBody,
  CreateRoleBody,
  CreateUnitBody,
  ListAssignmentsQuery,
  Role,
  Unit,
  UpdateRoleBody,
  UpdateUnitBody,
} from './access.schemas.ts';
import type { AccessService } from './access.service.ts';

const TAGS = ['access'];
const TENANT = '/v1/tenants/:tenantId';
const ROLES = ['FR-RBAC-002', 'FR-RBAC-004'];
const UNITS = ['FR-TEN-005', 'FR-RBAC-003'];
const ASSIGNMENTS = ['FR-RBAC-003', 'FR-RBAC-004', 'FR-TENANT-002'];
const List = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ items: Type.Array(item), next_cursor: Type.Null() });
const NoContent = { 204: { type: 'null' } } as const;

export function accessRoutes(app: App, access: AccessService) {
  app.get(
    '/v1/permissions',
    {
      config: { access: 'authenticated', requirements: ['FR-RBAC-001'] },
      schema: { tags: TAGS, summary: 'The permission catalog (read-only)', response: { 200: Catalog, ...problemResponses } },
    },
    async (request) => access.catalog(request.ctx),
  );

  app.get(
    `${TENANT}/roles`,
    { config: { access: 'roles.read', requirements: ROLES }, schema: { tags: TAGS, summary: 'List roles', params: TenantParams, response: { 200: List(Role), ...problemResponses } } },
    async (request) => access.listRoles(request.ctx),
  );
  app.post(
    `${TENANT}/roles`,
    {
      config: { access: 'roles.manage', requirements: ROLES },
      schema: { tags: TAGS, summary: 'Create a custom role from catalog permissions', params: TenantParams, body: CreateRoleBody, response: { 201: Role, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await access.createRole(request.ctx, request.body)),
  );
  app.get(
    `${TENANT}/roles/:id`,
    { config: { access: 'roles.read', requirements: ROLES }, schema: { tags: TAGS, summary: 'Get a role', params: TenantResourceParams, response: { 200: Role, ...problemResponses } } },
    async (request) => access.getRole(request.ctx, request.params.id),
  );
  app.patch(
    `${TENANT}/roles/:id`,
    {
      config: { access: 'roles.manage', requirements: ROLES },
      schema: { tags: TAGS, summary: 'Change a custom role', params: TenantResourceParams, body: UpdateRoleBody, response: { 200: Role, ...problemResponses } },
    },
    async (request) => access.updateRole(request.ctx, request.params.id, request.body),
  );
  app.delete(
    `${TENANT}/roles/:id`,
    {
      config: { access: 'roles.manage', requirements: ROLES },
      schema: { tags: TAGS, summary: 'Delete an unassigned custom role', params: TenantResourceParams, response: { ...NoContent, ...problemResponses } },
    },
    async (request, reply) => {
      await access.deleteRole(request.ctx, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    `${TENANT}/units`,
    { config: { access: 'units.read', requirements: UNITS }, schema: { tags: TAGS, summary: 'List organization units', params: TenantParams, response: { 200: List(Unit), ...problemResponses } } },
    async (request) => access.listUnits(request.ctx),
  );
  app.post(
    `${TENANT}/units`,
    {
      config: { access: 'units.manage', requirements: UNITS },
      schema: { tags: TAGS, summary: 'Create an organization unit', params: TenantParams, body: CreateUnitBody, response: { 201: Unit, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await access.createUnit(request.ctx, request.body)),
  );
  app.get(
    `${TENANT}/units/:id`,
    { config: { access: 'units.read', requirements: UNITS }, schema: { tags: TAGS, summary: 'Get an organization unit', params: TenantResourceParams, response: { 200: Unit, ...problemResponses } } },
    async (request) => access.getUnit(request.ctx, request.params.id),
  );
  app.patch(
    `${TENANT}/units/:id`,
    {
      config: { access: 'units.manage', requirements: UNITS },
      schema: { tags: TAGS, summary: 'Rename or move an organization unit', params: TenantResourceParams, body: UpdateUnitBody, response: { 200: Unit, ...problemResponses } },
    },
    async (request) => access.updateUnit(request.ctx, request.params.id, request.body),
  );
  app.delete(
    `${TENANT}/units/:id`,
    {
      config: { access: 'units.manage', requirements: UNITS },
      schema: { tags: TAGS, summary: 'Delete an empty organization unit', params: TenantResourceParams, response: { ...NoContent, ...problemResponses } },
    },
    async (request, reply) => {
      await access.deleteUnit(request.ctx, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    `${TENANT}/role-assignments`,
    {
      config: { access: 'roles.read', requirements: ASSIGNMENTS },
      schema: { tags: TAGS, summary: 'List role assignments', params: TenantParams, querystring: ListAssignmentsQuery, response: { 200: List(Assignment), ...problemResponses } },
    },
    async (request) => access.listAssignments(request.ctx, request.query),
  );
  app.post(
    `${TENANT}/role-assignments`,
    {
      config: { access: 'roles.manage', requirements: ASSIGNMENTS },
      schema: { tags: TAGS, summary: 'Give a user a role, tenant-wide or in a unit', params: TenantParams, body: CreateAssignmentBody, response: { 201: Assignment, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await access.assign(request.ctx, request.body)),
  );
  app.delete(
    `${TENANT}/role-assignments/:id`,
    {
      config: { access: 'roles.manage', requirements: ASSIGNMENTS },
      schema: { tags: TAGS, summary: 'Take a role assignment away (never the last Owner)', params: TenantResourceParams, response: { ...NoContent, ...problemResponses } },
    },
    async (request, reply) => {
      await access.unassign(request.ctx, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
