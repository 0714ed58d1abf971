import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
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

const declared = {
  auditActions: ['security.account_locked'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    lockout: typeof declared;
  }
}

export const lockoutModule = defineModule({
  name: 'lockout',
  summary: 'Sign-in throttling: failure counters per account and address, lockouts. Functions only.',
  dependsOn: [],
  tables: ['login_failures'],
  ...declared,
  create: () => ({ service: {} }),
});
