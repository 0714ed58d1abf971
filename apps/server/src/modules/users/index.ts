export { createUsersService, type UsersService } from './users.service.ts';
export { createInvitationsService, type InvitationsService } from './invitations.service.ts';
export { usersRoutes } from './users.routes.ts';
