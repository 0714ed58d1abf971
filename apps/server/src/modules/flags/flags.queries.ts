import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { FlagValue } from './flags.tables.ts';
import type { Cursor } from '../../kernel/paging.ts';
import { afterCursor } from '../../kernel/db/query-helpers.ts';
import type { MessagingChannel, SwitchName } from '../../kernel/switches.ts';

const FLAG_COLUMNS = ['key', 'kind', 'variants', 'default_value', 'plan_defaults', 'description', 'version', 'created_at', 'updated_at'] as const;

// Flag definitions (platform role) -------------------------------------------------------------

export function listAllFlags(tx: Tx) {
  return tx.selectFrom('feature_flags').select(FLAG_COLUMNS).orderBy('key').execute();
}

/** Keyset pagination over the key, the flags' natural order. */
export function listFlags(tx: Tx, options: { limit: number; afterKey: string | null }) {
  let query = tx.selectFrom('feature_flags').select(FLAG_COLUMNS).orderBy('key').limit(options.limit + 1);
  if (options.afterKey !== null) query = query.where('key', '>', options.afterKey);
  return query.execute();
}

export function findFlag(tx: Tx, key: string) {
  return tx.selectFrom('feature_flags').select(FLAG_COLUMNS).where('key', '=', key).executeTakeFirst();
}

export function insertFlag(
  tx: Tx,
  values: { key: string; kind: 'boolean' | 'variant'; variants: string[]; defaultValue: FlagValue; planDefaults: Record<string, FlagValue>; description: string },
) {
  return tx
    .insertInto('feature_flags')
    .values({
      key: values.key,
      kind: values.kind,
      variants: values.variants,
      default_value: JSON.stringify(values.defaultValue),
      plan_defaults: JSON.stringify(values.planDefaults),
      description: values.description,
    })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning(FLAG_COLUMNS)
    .executeTakeFirst();
}

/** Changes a flag at the given version; undefined when the version or the flag does not match. */
export function updateFlag(
  tx: Tx,
  key: string,
  version: number,
  changes: { variants: string[]; defaultValue: FlagValue; planDefaults: Record<string, FlagValue>; description: string },
) {
  return tx
    .updateTable('feature_flags')
    .set((eb) => ({
      variants: changes.variants,
      default_value: JSON.stringify(changes.defaultValue),
      plan_defaults: JSON.stringify(changes.planDefaults),
      description: changes.description,
      version: eb('version', '+', 1),
      updated_at: new Date(),
    }))
    .where('key', '=', key)
    .where('version', '=', version)
    .returning(FLAG_COLUMNS)
    .executeTakeFirst();
}

export function deleteFlag(tx: Tx, key: string) {
  return tx.deleteFrom('feature_flags').where('key', '=', key).executeTakeFirst();
}

// Overrides ------------------------------------------------------------------------------------

const OVERRIDE_COLUMNS = ['tenant_id', 'flag_key', 'value', 'created_at', 'updated_at'] as const;

/** One tenant's overrides, in its own context (RLS keeps them to it). */
export function listTenantOverrides(tx: Tx) {
  return tx.selectFrom('tenant_flag_overrides').select(['flag_key', 'value']).execute();
}

export function listOverridesOfFlag(tx: Tx, key: string, options: { limit: number; afterTenant: string | null }) {
  let query = tx.selectFrom('tenant_flag_overrides').select(OVERRIDE_COLUMNS).where('flag_key', '=', key).orderBy('tenant_id').limit(options.limit + 1);
  if (options.afterTenant !== null) query = query.where('tenant_id', '>', options.afterTenant);
  return query.execute();
}

/** The distinct values a flag's overrides use. */
export async function listOverrideValues(tx: Tx, key: string): Promise<FlagValue[]> {
  const rows = await tx.selectFrom('tenant_flag_overrides').select('value').distinct().where('flag_key', '=', key).execute();
  return rows.map((row) => row.value);
}

export function upsertOverride(tx: Tx, values: { tenantId: string; key: string; value: FlagValue; setBy: string | null }) {
  const json = JSON.stringify(values.value);
  return tx
    .insertInto('tenant_flag_overrides')
    .values({ tenant_id: values.tenantId, flag_key: values.key, value: json, set_by: values.setBy })
    .onConflict((oc) => oc.columns(['tenant_id', 'flag_key']).doUpdateSet({ value: json, set_by: values.setBy, updated_at: new Date() }))
    .returning(OVERRIDE_COLUMNS)
    .executeTakeFirstOrThrow();
}

export function deleteOverride(tx: Tx, tenantId: string, key: string) {
  return tx.deleteFrom('tenant_flag_overrides').where('tenant_id', '=', tenantId).where('flag_key', '=', key).returning('tenant_id').executeTakeFirst();
}

/** Removes every override of a flag; returns the tenants that had one. */
export async function deleteOverridesOfFlag(tx: Tx, key: string): Promise<string[]> {
  const rows = await tx.deleteFrom('tenant_flag_overrides').where('flag_key', '=', key).returning('tenant_id').execute();
  return rows.map((row) => row.tenant_id);
}

// Kill switches --------------------------------------------------------------------------------

const SWITCH_COLUMNS = [
  'id',
  'name',
  'tenant_id',
  'channel',
  'tripped',
  'reason',
  'tripped_by',
  'tripped_at',
  'reset_by',
  'reset_at',
  'created_at',
  'updated_at',
] as const;

export interface SwitchTarget {
  name: SwitchName;
  tenantId: string | null;
  channel: MessagingChannel | null;
}

/** Every tripped switch of every tenant, for a node's cache (platform role). */
export function listTrippedSwitches(tx: Tx) {
  return tx.selectFrom('kill_switches').select(['name', 'tenant_id', 'channel', 'tripped_at']).where('tripped', '=', true).execute();
}

export function listSwitches(tx: Tx, options: { limit: number; after: Cursor | null; tripped?: boolean | undefined; tenantId?: string | undefined }) {
  let query = tx.selectFrom('kill_switches').select(SWITCH_COLUMNS).orderBy('created_at').orderBy('id').limit(options.limit + 1);
  if (options.tripped !== undefined) query = query.where('tripped', '=', options.tripped);
  if (options.tenantId !== undefined) query = query.where('tenant_id', '=', options.tenantId);
  return afterCursor(query, options.after).execute();
}

export function findSwitch(tx: Tx, target: SwitchTarget) {
  return tx
    .selectFrom('kill_switches')
    .select(SWITCH_COLUMNS)
    .where('name', '=', target.name)
    .where(sql<boolean>`tenant_id is not distinct from ${target.tenantId}::uuid`)
    .where(sql<boolean>`channel is not distinct from ${target.channel}::text`)
    .executeTakeFirst();
}

export function tripSwitch(tx: Tx, target: SwitchTarget, values: { reason: string; by: string | null }) {
  const now = new Date();
  return tx
    .insertInto('kill_switches')
    .values({ name: target.name, tenant_id: target.tenantId, channel: target.channel, tripped: true, reason: values.reason, tripped_by: values.by, tripped_at: now })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'name', 'channel']).doUpdateSet({ tripped: true, reason: values.reason, tripped_by: values.by, tripped_at: now, updated_at: now }),
    )
    .returning(SWITCH_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Resets a tripped switch; undefined when it is not tripped. */
export function resetSwitch(tx: Tx, id: string, by: string | null) {
  const now = new Date();
  return tx
    .updateTable('kill_switches')
    .set({ tripped: false, reset_by: by, reset_at: now, updated_at: now })
    .where('id', '=', id)
    .where('tripped', '=', true)
    .returning(SWITCH_COLUMNS)
    .executeTakeFirst();
}

// Tenant settings (tenant context) --------------------------------------------------------------

const SETTINGS_COLUMNS = ['locale', 'timezone', 'logo_url', 'primary_color', 'accent_color', 'version', 'updated_at'] as const;

export function findSettings(tx: Tx) {
  return tx.selectFrom('tenant_settings').select(SETTINGS_COLUMNS).executeTakeFirst();
}

export interface SettingsValues {
  locale: string;
  timezone: string;
  logo_url: string | null;
  primary_color: string | null;
  accent_color: string | null;
}

export function insertSettings(tx: Tx, tenantId: string, values: SettingsValues, by: string | null) {
  return tx
    .insertInto('tenant_settings')
    .values({ tenant_id: tenantId, ...values, updated_by: by })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .returning(SETTINGS_COLUMNS)
    .executeTakeFirst();
}

/** Replaces the settings at the given version; undefined when the version does not match. */
export function updateSettings(tx: Tx, version: number, values: SettingsValues, by: string | null) {
  return tx
    .updateTable('tenant_settings')
    .set((eb) => ({ ...values, updated_by: by, version: eb('version', '+', 1), updated_at: new Date() }))
    .where('version', '=', version)
    .returning(SETTINGS_COLUMNS)
    .executeTakeFirst();
}
