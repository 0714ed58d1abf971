import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Static, TObject } from 'typebox';
import { registerAuditActions } from './audit/audit.ts';
import { registerPermissions, type PermissionTable } from './auth/permissions.ts';
import type { Actor } from './context.ts';
import type { DB } from './db/schema.ts';
import { registerProblems, type ProblemTable } from './errors.ts';
import type { App } from './http/server.ts';
import type { AnyJobDefinition, JobQueueDefinition } from './jobs/jobs.ts';
import type { KillSwitchPort } from './switches.ts';
import type { Platform } from './platform.ts';
import type { TenantDirectory } from './tenants.ts';
import type { UserDirectory } from './users.ts';

/**
 * The kernel's ports that a module may implement: the kernel calls them and knows no module.
 * Each is provided by at most one module of the list.
 */
export interface KernelPorts {
  /** Kill switches at the point of action (the flags module). */
  switches: KillSwitchPort;
  /** Tenant lookups for modules built before tenancy (the tenancy module). */
  tenants: TenantDirectory;
  /** User lookups for modules that do not own the users table (the identity module). */
  users: UserDirectory;
  /** Managed applications on `app:<scope>` routes (the apps module); absent, they are refused. */
  applicationKeys: { authenticate(request: FastifyRequest, scope: string): Promise<void> };
  /** Tenant API keys in `X-API-Key` (the api-keys module); absent, they are refused. */
  apiKeys: { authenticate(key: string): Promise<Actor | null> };
}

/**
 * The tables the kernel itself owns, with the part of it that reads and writes each. The views and
 * functions the migrations define for the kernel over modules' tables (session_principals,
 * tsv_touch_session: the guard) are the kernel's too; they own no rows, so they are not listed.
 */
export const KERNEL_TABLES = {
  audit_chain_heads: 'audit: the writer appends to every chain',
  audit_events: 'audit: the writer, the verifier',
  audit_checkpoints: 'audit: signed chain heads',
  idempotency_keys: 'http/idempotency.ts',
  dev_mailbox: 'notify: the development mail transport',
} as const satisfies Partial<Record<keyof DB, string>>;

/** What a module declares for the kernel's catalogs. */
export interface ModuleDeclarations {
  /** The permissions of its routes (FR-RBAC-001), with the default roles that hold each. */
  permissions?: PermissionTable;
  /** The actions it audits (FR-AUD-004). */
  auditActions?: readonly string[];
  /** The problems only it answers (RFC 7807 types under /problems/). */
  problems?: ProblemTable;
}

/**
 * The declarations of the modules by name, merged in by each module's index.ts:
 *
 *   const declared = { permissions: {...}, auditActions: [...], problems: {...} } as const satisfies ModuleDeclarations;
 *   declare module '../../kernel/module.ts' { interface DeclaredModules { notes: typeof declared } }
 *
 * The kernel derives its Permission, AuditAction and ProblemCode types from it, so a module adds
 * to them from its own folder, and a route or a service that names an undeclared one does not compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface DeclaredModules {}

type DeclaredKeys<Part extends keyof ModuleDeclarations> = {
  [Module in keyof DeclaredModules]: DeclaredModules[Module] extends Record<Part, infer Table> ? (Table extends readonly (infer Name)[] ? Name : keyof Table) : never;
}[keyof DeclaredModules];

export type ModulePermission = DeclaredKeys<'permissions'> & string;
export type ModuleAuditAction = DeclaredKeys<'auditActions'> & string;
export type ModuleProblemCode = DeclaredKeys<'problems'> & string;

/** What a module's `create` returns: its service and what the kernel wires for it. */
export interface ModuleParts<Service> {
  /** What other modules (those that list this one in dependsOn) and the seed call. */
  service: Service;
  /** Adds the module's routes; called only in processes that serve the API. */
  routes?(app: App): void;
  /**
   * Handlers for the module's job queues that need what only this process holds (a signing key,
   * a transport); a queue without one here runs its declared definition.
   */
  jobHandlers?: AnyJobDefinition[];
  /** Kernel ports this module implements. */
  provides?: Partial<KernelPorts>;
  /** Releases what `create` opened (listeners, timers), after the HTTP server and the jobs have stopped. */
  stop?(): Promise<void>;
}

/**
 * One module: a folder under `modules/` whose `index.ts` exports this definition, listed once in
 * `modules/index.ts`. The kernel builds the modules in the order of that list, each after the
 * modules it depends on, and derives the job queues and the table owners from the definitions.
 */
export interface ModuleDefinition<Name extends string = string, Service = unknown, Deps extends object = object, Section extends TObject = NoSection> {
  name: Name;
  /** One sentence on what the module is for: the module table of docs/architecture.md shows it. */
  summary: string;
  /** The modules whose services `create` receives, by name; each must come earlier in the list. */
  dependsOn: readonly (keyof Deps & string)[];
  /**
   * The tables this module alone reads and writes; other modules call its service. Their row
   * types live in the module's `<module>.tables.ts`, merged into `DB`.
   */
  tables: readonly (keyof DB & string)[];
  /**
   * The permissions of its routes (FR-RBAC-001), with the default roles that hold each; merged into
   * the catalog's `Permissions` type by a `declare module` in the module's index.ts.
   */
  permissions?: PermissionTable;
  /** The actions it audits (FR-AUD-004), merged into `AuditActions` the same way. */
  auditActions?: readonly string[];
  /** The problems only it answers (RFC 7807 types under /problems/), merged into `ProblemCodes`. */
  problems?: ProblemTable;
  /**
   * The module's section of the product policy (FR-PROD-001): its settings with the baseline's
   * defaults (`policySection` in kernel/policy.ts). `create` receives the section as validated.
   */
  policy?: Section;
  /** Runs at every start after the migrations, on the owner connection: reference data copied from code. */
  prepare?(owner: Kysely<DB>): Promise<void>;
  /** The job queues this module owns: prepared at every start, listed by the health API. */
  jobs?: readonly (JobQueueDefinition | AnyJobDefinition)[];
  create(platform: Platform, deps: Deps, policy: Static<Section>): ModuleParts<Service> | Promise<ModuleParts<Service>>;
}

/** A module as built in this process: what docs/architecture.md's module table shows. */
export interface BuiltModule {
  name: string;
  summary: string;
  dependsOn: readonly string[];
  tables: readonly string[];
  jobs: string[];
  /** `METHOD /url` of the routes it added; empty in a process that serves no API. */
  routes: string[];
}

/** The policy section of a module that declares none. */
export type NoSection = TObject<Record<never, never>>;

/** Any module definition, as the kernel handles them. */
export type AnyModule = ModuleDefinition<string, any, any, any>;

/** Declares a module: registers its permissions, audit actions and problems, and keeps the name literal and the types of create. */
export function defineModule<const Name extends string, Service, Deps extends object = object, Section extends TObject = NoSection>(
  definition: ModuleDefinition<Name, Service, Deps, Section>,
): ModuleDefinition<Name, Service, Deps, Section> {
  // Registered when the definition is loaded, so every process that loads the module list (the
  // server, the worker, a command, a test) sees the same catalogs; a duplicate fails at load.
  registerPermissions(definition.name, definition.permissions ?? {});
  registerAuditActions(definition.name, definition.auditActions ?? []);
  registerProblems(definition.name, definition.problems ?? {});
  return definition;
}

/** The services of a list of modules by name: `{ customers: CustomersService, ... }`. */
export type ServicesOf<List extends readonly AnyModule[]> = {
  [M in List[number] as M['name']]: Awaited<ReturnType<M['create']>>['service'];
};
