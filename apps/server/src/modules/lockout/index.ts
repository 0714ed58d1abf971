import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import { createLockoutService } from './lockout.ts';
import { LockoutPolicy } from './lockout.policy.ts';
export { addressSource, createLockoutService, lockedOut, loginAccountKey, loginSource, loginThrottle, type LockoutService, type LoginThrottle } from './lockout.ts';

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
  summary: 'Sign-in throttling: failure counters per account and address, lockouts.',
  dependsOn: [],
  tables: ['login_failures'],
  ...declared,
  policy: LockoutPolicy,
  create: (_platform, _deps, policy) => ({ service: createLockoutService(policy) }),
});
