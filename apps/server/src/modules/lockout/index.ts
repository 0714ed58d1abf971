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

export const lockoutModule = defineModule({
  name: 'lockout',
  summary: 'Sign-in throttling: failure counters per account and address, lockouts. Functions only.',
  dependsOn: [],
  tables: ['login_failures'],
  create: () => ({ service: {} }),
});
