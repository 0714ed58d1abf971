import { api, type Role, type Unit } from './api';
import { useLoaded } from './paged';
import type { Option } from './components/ui';

/** Options for a unit choice, indented by depth so the tree shows in a plain <select>. */
export function unitOptions(units: Unit[], exclude: ReadonlySet<string> = new Set()): Option[] {
  const options: Option[] = [];
  const walk = (parentId: string | null, depth: number) => {
    for (const u of units.filter((x) => x.parent_id === parentId).sort((a, b) => a.name.localeCompare(b.name))) {
      if (exclude.has(u.id)) continue;
      options.push({ value: u.id, label: `${'\u00a0\u00a0'.repeat(depth)}${u.name}` });
      walk(u.id, depth + 1);
    }
  };
  walk(null, 0);
  return options;
}

export function roleOptions(roles: Role[]): Option[] {
  return roles.map((r) => ({ value: r.id, label: r.name }));
}

/** The tenant's roles and units, for names and choices on the access screens. */
export function useRolesAndUnits(tenantId: string) {
  const roles = useLoaded(() => api.listRoles(tenantId), `roles\u0000${tenantId}`);
  const units = useLoaded(() => api.listUnits(tenantId), `units\u0000${tenantId}`);
  const roleList = roles.data?.items ?? [];
  const unitList = units.data?.items ?? [];
  const roleNames = new Map(roleList.map((r) => [r.id, r.name]));
  const unitNames = new Map(unitList.map((u) => [u.id, u.name]));
  return {
    roles: roleList,
    units: unitList,
    error: roles.error ?? units.error,
    loading: roles.loading || units.loading,
    roleName: (id: string) => roleNames.get(id) ?? 'Unknown role',
    /** A null unit means the whole organization. */
    scopeName: (unitId: string | null) => (unitId === null ? 'Whole organization' : (unitNames.get(unitId) ?? 'Unknown unit')),
  };
}
