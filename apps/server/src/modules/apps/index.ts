export { createAppsService, type AppsService } from './apps.service.ts';
export { IssueKeyBody, RegisterApplicationBody, type IssueKeyInput, type RegisterApplicationInput } from './apps.schemas.ts';
export { appsRoutes } from './apps.routes.ts';
export { APP_KEYS_CHANNEL, AppKeyVerifier, appMayActFor, decodeAppKeyChange } from './app-keys.ts';
