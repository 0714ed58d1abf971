import type { App } from '../../kernel/http/server.ts';
import { Page, Problem, problemResponses, TenantParams, TenantResourceParams, VersionQuery } from '../../kernel/http/schemas.ts';
import type { InvitationsService } from './invitations.service.ts';
import {
  AcceptedInvitation,
  AcceptInvitationBody,
  ChangeRoleBody,
  CreateInvitationBody,
  Invitation,
  InvitationList,
  InvitationSettings,
  InvitationSettingsBody,
  ListInvitationsQuery,
  ListUsersQuery,
  User,
} from './users.schemas.ts';
import type { UsersService } from './users.service.ts';

const TENANT = '/v1/tenants/:tenantId';
const LIFECYCLE = ['FR-TENANT-002', 'FR-TENANT-004', 'FR-TENANT-006'];
const INVITATIONS = ['FR-TENANT-001'];
const NoContent = { 204: { type: 'null' } } as const;

export function usersRoutes(app: App, users: UsersService, invitations: InvitationsService) {
  const tags = ['users'];
  app.get(
    `${TENANT}/users`,
    {
      config: { access: 'users.read', requirements: LIFECYCLE },
      schema: { tags, summary: 'List users with their roles', params: TenantParams, querystring: ListUsersQuery, response: { 200: Page(User), ...problemResponses } },
    },
    async (request) => users.list(request.ctx, request.query),
  );
  app.get(
    `${TENANT}/users/:id`,
    {
      config: { access: 'users.read', requirements: LIFECYCLE },
      schema: { tags, summary: 'Get a user with its roles', params: TenantResourceParams, response: { 200: User, ...problemResponses } },
    },
    async (request) => users.get(request.ctx, request.params.id),
  );
  app.put(
    `${TENANT}/users/:id/role`,
    {
      config: { access: 'users.manage', requirements: [...LIFECYCLE, 'FR-RBAC-004'] },
      schema: {
        tags,
        summary: "Replace the user's roles with one; ends the user's sessions",
        params: TenantResourceParams,
        body: ChangeRoleBody,
        response: { 200: User, ...problemResponses },
      },
    },
    async (request) => users.changeRole(request.ctx, request.params.id, request.body),
  );
  app.post(
    `${TENANT}/users/:id/disable`,
    {
      config: { access: 'users.manage', requirements: LIFECYCLE },
      schema: { tags, summary: "Disable a user; ends the user's sessions", params: TenantResourceParams, response: { 200: User, ...problemResponses } },
    },
    async (request) => users.disable(request.ctx, request.params.id),
  );
  app.post(
    `${TENANT}/users/:id/enable`,
    {
      config: { access: 'users.manage', requirements: LIFECYCLE },
      schema: { tags, summary: 'Enable a disabled user', params: TenantResourceParams, response: { 200: User, ...problemResponses } },
    },
    async (request) => users.enable(request.ctx, request.params.id),
  );
  app.delete(
    `${TENANT}/users/:id`,
    {
      config: { access: 'users.manage', requirements: LIFECYCLE },
      schema: {
        tags,
        summary: "Delete a user (soft); ends the user's sessions and frees the address",
        params: TenantResourceParams,
        querystring: VersionQuery,
        response: { ...NoContent, ...problemResponses },
      },
    },
    async (request, reply) => {
      await users.remove(request.ctx, request.params.id, request.query.version);
      return reply.status(204).send(null);
    },
  );

  const invitationTags = ['invitations'];
  app.get(
    `${TENANT}/invitations`,
    {
      config: { access: 'users.invite', requirements: INVITATIONS },
      schema: { tags: invitationTags, summary: 'List invitations', params: TenantParams, querystring: ListInvitationsQuery, response: { 200: InvitationList, ...problemResponses } },
    },
    async (request) => invitations.list(request.ctx, request.query),
  );
  app.post(
    `${TENANT}/invitations`,
    {
      config: { access: 'users.invite', requirements: [...INVITATIONS, 'FR-RBAC-004'] },
      schema: {
        tags: invitationTags,
        summary: 'Invite an address with a role; the link is emailed',
        params: TenantParams,
        body: CreateInvitationBody,
        response: { 201: Invitation, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await invitations.invite(request.ctx, request.body)),
  );
  app.post(
    `${TENANT}/invitations/:id/resend`,
    {
      config: { access: 'users.invite', requirements: [...INVITATIONS, 'FR-TENANT-007'] },
      schema: {
        tags: invitationTags,
        summary: 'Send a new link with a new expiry; the previous link stops working',
        params: TenantResourceParams,
        response: { 200: Invitation, ...problemResponses },
      },
    },
    async (request) => invitations.resend(request.ctx, request.params.id),
  );
  app.delete(
    `${TENANT}/invitations/:id`,
    {
      config: { access: 'users.invite', requirements: INVITATIONS },
      schema: { tags: invitationTags, summary: 'Revoke an invitation', params: TenantResourceParams, response: { ...NoContent, ...problemResponses } },
    },
    async (request, reply) => {
      await invitations.revoke(request.ctx, request.params.id);
      return reply.status(204).send(null);
    },
  );
  app.put(
    `${TENANT}/invitation-settings`,
    {
      config: { access: 'users.manage', requirements: INVITATIONS },
      schema: {
        tags: invitationTags,
        summary: 'Set how many days new invitations stay valid (1 to 30, default 7)',
        params: TenantParams,
        body: InvitationSettingsBody,
        response: { 200: InvitationSettings, ...problemResponses },
      },
    },
    async (request) => invitations.updateSettings(request.ctx, request.body),
  );
  app.post(
    '/v1/invitations/accept',
    {
      // Public: the token is the credential. Limited per address like sign-in (it hashes a password).
      config: { access: 'public', requirements: INVITATIONS, rateLimit: { perIp: 'login' } },
      schema: {
        tags: invitationTags,
        summary: 'Accept an invitation: set the password, get signed in',
        body: AcceptInvitationBody,
        response: { 201: AcceptedInvitation, 400: Problem, 403: Problem, 409: Problem, 410: Problem },
      },
    },
    async (request, reply) => reply.status(201).send(await invitations.accept(request.ctx, request.body)),
  );
}
