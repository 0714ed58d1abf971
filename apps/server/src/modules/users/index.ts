export { createUsersService, type UsersService } from './users.service.ts';
export { createInvitationsService, invitationMailJob, type InvitationsService } from './invitations.service.ts';
export { usersRoutes } from './users.routes.ts';
