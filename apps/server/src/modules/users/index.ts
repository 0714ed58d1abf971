import { defineModule } from '../../kernel/module.ts';
import type { IdentityService } from '../identity/index.ts';
import { createInvitationsService } from './invitations.service.ts';
import { createUsersService } from './users.service.ts';
import { usersRoutes } from './users.routes.ts';
export { createUsersService, type UsersService } from './users.service.ts';
export { createInvitationsService, type InvitationsService } from './invitations.service.ts';
export { usersRoutes } from './users.routes.ts';

export const usersModule = defineModule({
  name: 'users',
  summary: "A tenant's members and invitations.",
  dependsOn: ['identity'],
  tables: ['invitations', 'invitation_settings'],
  create(platform, deps: { identity: IdentityService }) {
    const service = createUsersService(platform);
    const invitations = createInvitationsService(platform, deps.identity);
    return { service, routes: (app) => usersRoutes(app, service, invitations) };
  },
});
