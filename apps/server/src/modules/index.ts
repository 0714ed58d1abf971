import type { Static } from 'typebox';
import type { AnyModule, NoSection, ServicesOf } from '../kernel/module.ts';
import { accessModule } from './access/index.ts';
import { apiKeysModule } from './api-keys/index.ts';
import { appsModule } from './apps/index.ts';
import { auditModule } from './audit/index.ts';
import { billingModule } from './billing/index.ts';
import { customersModule } from './customers/index.ts';
import { flagsModule } from './flags/index.ts';
import { identityModule } from './identity/index.ts';
import { impersonationModule } from './impersonation/index.ts';
import { lockoutModule } from './lockout/index.ts';
import { mfaModule } from './mfa/index.ts';
import { opsModule } from './ops/index.ts';
import { ordersModule } from './orders/index.ts';
import { sessionsModule } from './sessions/index.ts';
import { ssoModule } from './sso/index.ts';
import { tenancyModule } from './tenancy/index.ts';
import { usersModule } from './users/index.ts';
import { verificationModule } from './verification/index.ts';

/**
 * Every module of the platform, in the order the kernel builds them: a module comes after the
 * modules it depends on. Adding a module is its folder and one line here.
 */
export const MODULES = [
  opsModule,
  lockoutModule,
  verificationModule,
  sessionsModule,
  identityModule,
  tenancyModule,
  usersModule,
  accessModule,
  customersModule,
  ordersModule,
  auditModule,
  appsModule,
  billingModule,
  flagsModule,
  impersonationModule,
  apiKeysModule,
  mfaModule,
  ssoModule,
] as const satisfies readonly AnyModule[];

/** The services of the modules by name, as `Running.services` holds them. */
export type ModuleServices = ServicesOf<typeof MODULES>;

/** The product policy as the modules read it: each section that a module declares, by its name. */
export type ProductPolicy = {
  readonly [M in (typeof MODULES)[number] as NoSection extends SectionOf<M> ? never : M['name']]: Static<SectionOf<M>>;
};
type SectionOf<M extends AnyModule> = NonNullable<M['policy']>;

type DependenciesOf<M extends AnyModule> = Parameters<M['create']>[1];
type AllTrue<T extends Record<string, true>> = T;

/** Compiles only when every module's dependencies are services of the list with the types it expects. */
export type DependenciesMet = AllTrue<{ [M in (typeof MODULES)[number] as M['name']]: ModuleServices extends DependenciesOf<M> ? true : false }>;
