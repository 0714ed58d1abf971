import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import { createInvitationsService } from './invitations.service.ts';
import { UsersPolicy } from './users.policy.ts';
import { createUsersService } from './users.service.ts';
import { usersRoutes } from './users.routes.ts';
export { createUsersService, type UsersService } from './users.service.ts';
export { createInvitationsService, type InvitationsService } from './invitations.service.ts';
export { usersRoutes } from './users.routes.ts';

const declared = {
  permissions: {
    'users.read': { plane: 'tenant', description: 'List the users of the organization', roles: ['admin', 'member', 'auditor'] },
    'users.invite': { plane: 'tenant', description: 'Invite users and manage invitations', grantsAccess: true, roles: ['admin'] },
    'users.manage': { plane: 'tenant', description: 'Change, disable, enable and delete users', sensitive: true, grantsAccess: true, roles: ['admin'] },
  },
  auditActions: ['user.role_changed', 'user.disabled', 'user.enabled', 'user.deleted', 'invitation.created', 'invitation.resent', 'invitation.revoked', 'invitation.accepted', 'invitation.settings_updated'],
  problems: {
    'invitation-invalid': [410, 'The invitation is not valid'],
  },
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    users: typeof declared;
  }
}

export const usersModule = defineModule({
  name: 'users',
  summary: "A tenant's members and invitations.",
  dependsOn: ['identity'],
  tables: ['invitations', 'invitation_settings'],
  ...declared,
  policy: UsersPolicy,
  create(platform, deps: { identity: IdentityService }, policy) {
    const service = createUsersService(platform);
    const invitations = createInvitationsService(platform, deps.identity, policy);
    return { service, routes: (app) => usersRoutes(app, service, invitations) };
  },
});
