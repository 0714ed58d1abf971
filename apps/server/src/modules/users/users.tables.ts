import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from '../../kernel/db/schema.ts';

/** Invitations to join a tenant (FR-TENANT-001, FR-TENANT-007); the token only as its SHA-256. */
export interface InvitationsTable {
  tenant_id: string;
  id: Generated<string>;
  email: string;
  role_id: string;
  unit_id: string | null;
  token_hash: string;
  status: Generated<'pending' | 'accepted' | 'revoked' | 'expired'>;
  expires_at: Date;
  invited_by: string | null;
  sent_count: Generated<number>;
  last_sent_at: Timestamp;
  accepted_user_id: string | null;
  accepted_at: Date | null;
  revoked_at: Date | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** A tenant's invitation settings, one row per tenant (no row: the defaults). */
export interface InvitationSettingsTable {
  tenant_id: string;
  expiry_days: Generated<number>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

declare module '../../kernel/db/schema.ts' {
  interface DB {
    invitations: InvitationsTable;
    invitation_settings: InvitationSettingsTable;
  }
}
