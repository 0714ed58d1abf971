import { defineModule } from '../../kernel/module.ts';
export {
  addressSource,
  clearAccountFailures,
  clearLoginFailures,
  countLoginFailure,
  failureDelayMs,
  lockedOut,
  lockedUntil,
  loginAccountKey,
  loginSource,
  loginThrottle,
  recordAccountLocked,
  type LoginThrottle,
} from './lockout.ts';

/** Sign-in throttling: failure counters per account and address, lockouts (FR-AUTH-007). Functions only. */
export const lockoutModule = defineModule({
  name: 'lockout',
  dependsOn: [],
  tables: ['login_failures'],
  create: () => ({ service: {} }),
});
