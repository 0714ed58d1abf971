import { defineModule, type ModuleDeclarations } from '../../kernel/module.ts';
import type { AppsService } from '../apps/index.ts';
import { FlagCache } from './flag-cache.ts';
import { flagsRoutes } from './flags.routes.ts';
import { createFlagsService } from './flags.service.ts';
import { KillSwitches } from './kill-switches.ts';
export type { FlagsService } from './flags.service.ts';
export { announceFlagChange } from './flag-cache.ts';

const declared = {
  permissions: {
    'platform.flags.read': { plane: 'platform', description: 'Read feature flags and kill switches', roles: ['operator'] },
    'platform.flags.write': { plane: 'platform', description: 'Change feature flags and tenant overrides', roles: ['operator'] },
    'platform.switches.write': { plane: 'platform', description: 'Trip and reset kill switches', sensitive: true, roles: ['operator'] },
  },
  auditActions: ['flag.created', 'flag.updated', 'flag.deleted', 'flag.override_set', 'flag.override_removed', 'kill_switch.tripped', 'kill_switch.reset', 'tenant.settings_updated'],
} as const satisfies ModuleDeclarations;

declare module '../../kernel/module.ts' {
  interface DeclaredModules {
    flags: typeof declared;
  }
}

export const flagsModule = defineModule({
  name: 'flags',
  summary: 'Feature flags, kill switches, tenant settings and branding, and their delivery to applications.',
  dependsOn: ['apps'],
  tables: ['feature_flags', 'tenant_flag_overrides', 'kill_switches', 'tenant_settings'],
  ...declared,
  async create(platform, deps: { apps: AppsService }) {
    // Every node's copy follows NOTIFY, with FLAG_CACHE_TTL_MS as the backstop.
    const cache = new FlagCache(platform.db, platform.tenants, platform.log, { ttlMs: platform.config.flagCacheTtlMs });
    await cache.start();
    const service = createFlagsService(platform, cache);
    return {
      service,
      routes: (app) => flagsRoutes(app, service, deps.apps.keys),
      provides: { switches: new KillSwitches(cache) },
      stop: () => cache.stop(),
    };
  },
});
