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
