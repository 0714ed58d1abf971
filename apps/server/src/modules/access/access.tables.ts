import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

export interface PermissionsTable {
  key: string;
  description: string;
  plane: 'tenant' | 'platform';
  sensitive: boolean;
  catalog_version: number;
}

export interface RolesTable {
  tenant_id: string;
  id: Generated<string>;
  key: string | null;
  name: string;
  description: Generated<string>;
  permissions: Generated<string[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface OrgUnitsTable {
  tenant_id: string;
  id: Generated<string>;
  parent_id: string | null;
  name: string;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface RoleAssignmentsTable {
  tenant_id: string;
  id: Generated<string>;
  user_id: string;
  role_id: string;
  unit_id: string | null;
  created_at: CreatedAt;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    permissions: PermissionsTable;
    roles: RolesTable;
    org_units: OrgUnitsTable;
    role_assignments: RoleAssignmentsTable;
  }
}
