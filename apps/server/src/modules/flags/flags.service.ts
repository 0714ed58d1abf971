import { recordAudit, recordSecurityEvent } from '../../kernel/audit/audit.ts';
import { scopeOf, type RequestContext } from '../../kernel/context.ts';
import { isUuid, type PlatformTransaction, type Tx } from '../../kernel/db/database.ts';
import type { FlagValue } from './flags.tables.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage } from '../../kernel/paging.ts';
import { withIsoDates } from '../../kernel/views.ts';
import type { Platform } from '../../kernel/platform.ts';
import { announceFlagChange, isValidValue, type DeliveredFlags, type FlagCache, type FlagChange } from './flag-cache.ts';
import {
  deleteFlag,
  deleteOverride,
  deleteOverridesOfFlag,
  findFlag,
  findSettings,
  findSwitch,
  insertFlag,
  insertSettings,
  listFlags,
  listOverridesOfFlag,
  listOverrideValues,
  listSwitches,
  resetSwitch,
  tripSwitch,
  updateFlag,
  updateSettings,
  upsertOverride,
  type SettingsValues,
  type SwitchTarget,
} from './flags.queries.ts';
import type {
  CreateFlagInput,
  ListSwitchesQueryType,
  PutSettingsInput,
  ResetSwitchInput,
  SetOverrideInput,
  TripSwitchInput,
  UpdateFlagInput,
} from './flags.schemas.ts';

type FlagRow = NonNullable<Awaited<ReturnType<typeof findFlag>>>;
type SwitchRow = NonNullable<Awaited<ReturnType<typeof findSwitch>>>;

const flagView = (row: FlagRow) => withIsoDates(row);

const switchView = (row: SwitchRow) => ({ ...withIsoDates(row), scope: row.tenant_id === null ? ('global' as const) : ('tenant' as const) });

const DEFAULT_SETTINGS: SettingsValues = { locale: 'en', timezone: 'UTC', logo_url: null, primary_color: null, accent_color: null };

function settingsView(row: (SettingsValues & { version: number; updated_at: Date }) | undefined) {
  const values = row ?? DEFAULT_SETTINGS;
  return {
    settings: { locale: values.locale, timezone: values.timezone },
    branding: { logo_url: values.logo_url, primary_color: values.primary_color, accent_color: values.accent_color },
    version: row?.version ?? 0,
    updated_at: row?.updated_at.toISOString() ?? null,
  };
}

/** Checks a definition's values against its kind and variants; a 400 naming the first misfit. */
function assertDefinition(kind: 'boolean' | 'variant', variants: string[], defaultValue: FlagValue, planDefaults: Record<string, FlagValue>) {
  if (kind === 'boolean' && variants.length > 0) throw new AppError('validation', 'A boolean flag has no variants.');
  if (kind === 'variant' && variants.length < 2) throw new AppError('validation', 'A variant flag needs at least two variants.');
  const definition = { kind, variants };
  const expected = kind === 'boolean' ? 'true or false' : `one of ${variants.join(', ')}`;
  if (!isValidValue(definition, defaultValue)) throw new AppError('validation', `default_value must be ${expected}.`);
  for (const [plan, value] of Object.entries(planDefaults)) {
    if (!isValidValue(definition, value)) throw new AppError('validation', `plan_defaults.${plan} must be ${expected}.`);
  }
}

/** A canonical BCP 47 tag, or a 400. */
function canonicalLocale(locale: string): string {
  try {
    return Intl.getCanonicalLocales(locale)[0]!;
  } catch {
    throw new AppError('validation', 'settings.locale is not a valid language tag.');
  }
}

/** The IANA name of a time zone, or a 400. */
function canonicalTimezone(timezone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    throw new AppError('validation', 'settings.timezone is not a known time zone.');
  }
}

/** An https URL without credentials, or a 400: the logo is loaded by every user's browser. */
function logoUrl(value: string | null): string | null {
  if (value === null) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError('validation', 'branding.logo_url is not a URL.');
  }
  if (url.protocol !== 'https:' || url.username || url.password || !url.hostname) {
    throw new AppError('validation', 'branding.logo_url must be an https URL without credentials.');
  }
  return url.href;
}

/**
 * Feature flags (platform defaults, plan defaults, tenant overrides), kill switches, tenant settings
 * and branding, and flag delivery to managed applications (FR-FLAG-001..003, FR-TEN-003).
 * Every change is audited and announced in its transaction; once it commits, this node applies it
 * at once and every other node on the NOTIFY.
 */
export function createFlagsService(platform: Platform, flags: FlagCache) {
  const { db, tenants } = platform;
  // Who made a change, kept beside it when the actor is a user; the audit event names every actor.
  const actorId = (ctx: RequestContext) => (isUuid(ctx.actor?.userId) ? ctx.actor.userId : null);

  /** Runs a platform change that announces `change`, then applies it on this node. */
  async function changing<T>(change: FlagChange, work: (tx: Tx, transaction: PlatformTransaction) => Promise<T>): Promise<T> {
    const result = await db.withPlatform(async (tx, transaction) => {
      const value = await work(tx, transaction);
      await announceFlagChange(tx, change);
      return value;
    });
    await flags.apply(change);
    return result;
  }

  /** Also writes a platform change about one tenant into that tenant's own audit chain (last: it switches the role). */
  async function auditInTenant(tx: Tx, transaction: PlatformTransaction, ctx: RequestContext, tenantId: string, event: Omit<Parameters<typeof recordAudit>[2], 'tenantId'>) {
    await transaction.continueInTenant(tenantId);
    await recordAudit(tx, ctx, { ...event, tenantId });
  }

  async function requireTenant(tx: Tx, tenantId: string) {
    if (!(await tenants.findById(tx, tenantId))) throw new AppError('not-found', 'There is no such organization.');
  }

  async function requireFlag(tx: Tx, key: string): Promise<FlagRow> {
    const flag = await findFlag(tx, key);
    if (!flag) throw new AppError('not-found', 'There is no such flag.');
    return flag;
  }

  /** The key's tenant scope decides which tenants an application may read (FR-FLAG-002). */
  async function authorizeApplication(ctx: RequestContext, tenantId: string) {
    const app = ctx.app;
    if (!app || !app.scopes.includes('flags:read')) throw new AppError('forbidden', 'This route takes an application key with the scope flags:read.');
    if (app.tenantIds !== null && !app.tenantIds.includes(tenantId)) {
      await recordSecurityEvent(db, ctx, {
        tenantId: null,
        action: 'security.cross_tenant_attempt',
        severity: 'high',
        metadata: { app_id: app.appId, key_id: app.keyId, requested_tenant: tenantId, resource: 'flags' },
      });
      throw new AppError('forbidden', "This key may not read that organization's flags.");
    }
  }

  return {
    /** A tenant's effective value of a flag from this node's copy (undefined for an unknown flag): for other modules. */
    value: (tenantId: string, key: string) => flags.value(tenantId, key),

    // Flag definitions (operators) -----------------------------------------------------------

    async listFlags(_ctx: RequestContext, query: { limit?: number; cursor?: string }) {
      const limit = query.limit ?? 50;
      const rows = await db.withPlatform((tx) => listFlags(tx, { limit, afterKey: query.cursor ?? null }));
      const more = rows.length > limit;
      const items = more ? rows.slice(0, limit) : rows;
      return { items: items.map(flagView), next_cursor: more ? items.at(-1)!.key : null };
    },

    async getFlag(_ctx: RequestContext, key: string) {
      return flagView(await db.withPlatform((tx) => requireFlag(tx, key)));
    },

    async createFlag(ctx: RequestContext, input: CreateFlagInput) {
      const variants = input.variants ?? [];
      const planDefaults = input.plan_defaults ?? {};
      assertDefinition(input.kind, variants, input.default_value, planDefaults);
      const row = await changing({ reload: true, tenantId: null }, async (tx) => {
        const created = await insertFlag(tx, {
          key: input.key,
          kind: input.kind,
          variants,
          defaultValue: input.default_value,
          planDefaults,
          description: input.description ?? '',
        });
        if (!created) throw new AppError('conflict', 'A flag with that key exists.');
        await recordAudit(tx, ctx, {
          tenantId: null,
          action: 'flag.created',
          resourceType: 'flag',
          resourceId: created.key,
          metadata: { kind: created.kind, variants, default_value: input.default_value, plan_defaults: planDefaults },
        });
        return created;
      });
      return flagView(row);
    },

    async updateFlag(ctx: RequestContext, key: string, input: UpdateFlagInput) {
      const row = await changing({ reload: true, tenantId: null }, async (tx) => {
        const current = await requireFlag(tx, key);
        const next = {
          variants: input.variants ?? current.variants,
          defaultValue: input.default_value ?? current.default_value,
          planDefaults: input.plan_defaults ?? current.plan_defaults,
          description: input.description ?? current.description,
        };
        assertDefinition(current.kind, next.variants, next.defaultValue, next.planDefaults);
        if (current.kind === 'variant' && input.variants) {
          const stranded = (await listOverrideValues(tx, key)).filter((value) => !isValidValue({ kind: 'variant', variants: next.variants }, value));
          if (stranded.length) throw new AppError('conflict', `Tenant overrides use ${stranded.join(', ')}: change or remove them first.`);
        }
        const updated = await updateFlag(tx, key, input.version, next);
        if (!updated) throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
        await recordAudit(tx, ctx, {
          tenantId: null,
          action: 'flag.updated',
          resourceType: 'flag',
          resourceId: key,
          metadata: { changes: Object.fromEntries(Object.entries(input).filter(([field]) => field !== 'version')), version: updated.version },
        });
        return updated;
      });
      return flagView(row);
    },

    /** Removes a flag and every tenant override of it. */
    async deleteFlag(ctx: RequestContext, key: string, version: number | undefined) {
      await changing({ reload: true, tenantId: null }, async (tx) => {
        const current = await requireFlag(tx, key);
        if (version !== undefined && version !== current.version) {
          throw new AppError('version-conflict', `The current version is ${current.version}.`, { current_version: current.version });
        }
        const tenants = await deleteOverridesOfFlag(tx, key);
        await deleteFlag(tx, key);
        await recordAudit(tx, ctx, { tenantId: null, action: 'flag.deleted', resourceType: 'flag', resourceId: key, metadata: { overrides_removed: tenants.length } });
      });
    },

    // Tenant overrides (operators) -----------------------------------------------------------

    async listOverrides(_ctx: RequestContext, key: string, query: { limit?: number; cursor?: string }) {
      const limit = query.limit ?? 50;
      const rows = await db.withPlatform(async (tx) => {
        await requireFlag(tx, key);
        return listOverridesOfFlag(tx, key, { limit, afterTenant: query.cursor ?? null });
      });
      const more = rows.length > limit;
      const items = more ? rows.slice(0, limit) : rows;
      return { items: items.map((row) => withIsoDates(row)), next_cursor: more ? items.at(-1)!.tenant_id : null };
    },

    async setOverride(ctx: RequestContext, key: string, input: SetOverrideInput) {
      const row = await changing({ reload: false, tenantId: input.tenant_id }, async (tx, transaction) => {
        const flag = await requireFlag(tx, key);
        if (!isValidValue(flag, input.value)) {
          throw new AppError('validation', `value must be ${flag.kind === 'boolean' ? 'true or false' : `one of ${flag.variants.join(', ')}`}.`);
        }
        await requireTenant(tx, input.tenant_id);
        const saved = await upsertOverride(tx, { tenantId: input.tenant_id, key, value: input.value, setBy: actorId(ctx) });
        const event = { action: 'flag.override_set' as const, resourceType: 'flag', resourceId: key, metadata: { tenant_id: input.tenant_id, value: input.value } };
        await recordAudit(tx, ctx, { ...event, tenantId: null });
        await auditInTenant(tx, transaction, ctx, input.tenant_id, event);
        return saved;
      });
      return withIsoDates(row);
    },

    async removeOverride(ctx: RequestContext, key: string, tenantId: string) {
      await changing({ reload: false, tenantId }, async (tx, transaction) => {
        await requireFlag(tx, key);
        if (!(await deleteOverride(tx, tenantId, key))) throw new AppError('not-found', 'That organization has no override of this flag.');
        const event = { action: 'flag.override_removed' as const, resourceType: 'flag', resourceId: key, metadata: { tenant_id: tenantId } };
        await recordAudit(tx, ctx, { ...event, tenantId: null });
        await auditInTenant(tx, transaction, ctx, tenantId, event);
      });
    },

    // Kill switches (operators) ---------------------------------------------------------------

    async listSwitches(_ctx: RequestContext, query: ListSwitchesQueryType) {
      const limit = query.limit ?? 50;
      const rows = await db.withPlatform((tx) =>
        listSwitches(tx, { limit, after: decodeCursor(query.cursor), tripped: query.tripped, tenantId: query.tenant_id }),
      );
      return toPage(rows, limit, switchView);
    },

    async tripSwitch(ctx: RequestContext, input: TripSwitchInput) {
      const target = switchTarget(input);
      const row = await changing({ reload: true, tenantId: target.tenantId }, async (tx, transaction) => {
        if (target.tenantId) await requireTenant(tx, target.tenantId);
        const tripped = await tripSwitch(tx, target, { reason: input.reason, by: actorId(ctx) });
        const event = {
          action: 'kill_switch.tripped' as const,
          resourceType: 'kill_switch',
          resourceId: tripped.id,
          severity: 'medium' as const,
          metadata: { name: target.name, tenant_id: target.tenantId, channel: target.channel, reason: input.reason },
        };
        await recordAudit(tx, ctx, { ...event, tenantId: null });
        if (target.tenantId) await auditInTenant(tx, transaction, ctx, target.tenantId, event);
        return tripped;
      });
      return switchView(row);
    },

    async resetSwitch(ctx: RequestContext, input: ResetSwitchInput) {
      const target = switchTarget(input);
      const row = await changing({ reload: true, tenantId: target.tenantId }, async (tx, transaction) => {
        const current = await findSwitch(tx, target);
        if (!current) throw new AppError('not-found', 'That switch was never tripped.');
        const reset = await resetSwitch(tx, current.id, actorId(ctx));
        if (!reset) throw new AppError('conflict', 'That switch is not tripped.');
        const event = {
          action: 'kill_switch.reset' as const,
          resourceType: 'kill_switch',
          resourceId: reset.id,
          metadata: { name: target.name, tenant_id: target.tenantId, channel: target.channel, reason: input.reason ?? '' },
        };
        await recordAudit(tx, ctx, { ...event, tenantId: null });
        if (target.tenantId) await auditInTenant(tx, transaction, ctx, target.tenantId, event);
        return reset;
      });
      return switchView(row);
    },

    // Tenant configuration -------------------------------------------------------------------

    /** FR-TEN-003: the caller's organization's effective flags, tripped switches, settings and branding. */
    async config(ctx: RequestContext) {
      const scope = scopeOf(ctx);
      const [delivered, own] = await Promise.all([
        flags.document(scope.tenantId),
        db.withTenant(ctx, async (tx) => ({ plan: (await tenants.findById(tx, scope.tenantId))?.plan, settings: await findSettings(tx) })),
      ]);
      if (!delivered || own.plan === undefined) throw new AppError('not-found');
      return { tenant_id: scope.tenantId, plan: own.plan, flags: delivered.document.flags, switches: delivered.document.switches, ...settingsView(own.settings) };
    },

    async putSettings(ctx: RequestContext, input: PutSettingsInput) {
      const scope = scopeOf(ctx);
      const values: SettingsValues = {
        locale: canonicalLocale(input.settings.locale),
        timezone: canonicalTimezone(input.settings.timezone),
        logo_url: logoUrl(input.branding.logo_url),
        primary_color: input.branding.primary_color?.toLowerCase() ?? null,
        accent_color: input.branding.accent_color?.toLowerCase() ?? null,
      };
      const row = await db.withTenant(ctx, async (tx) => {
        const current = await findSettings(tx);
        const currentVersion = current?.version ?? 0;
        if (input.version !== undefined && input.version !== currentVersion) {
          throw new AppError('version-conflict', `The current version is ${currentVersion}.`, { current_version: currentVersion });
        }
        const saved = current
          ? await updateSettings(tx, currentVersion, values, actorId(ctx))
          : await insertSettings(tx, scope.tenantId, values, actorId(ctx));
        if (!saved) throw new AppError('version-conflict', 'The settings were changed by someone else; read them again.');
        const previous = current ?? DEFAULT_SETTINGS;
        const changed = (Object.keys(values) as (keyof SettingsValues)[]).filter((field) => values[field] !== previous[field]);
        await recordAudit(tx, ctx, {
          tenantId: scope.tenantId,
          action: 'tenant.settings_updated',
          resourceType: 'tenant_settings',
          resourceId: scope.tenantId,
          metadata: { fields: changed, version: saved.version },
        });
        return saved;
      });
      return settingsView(row);
    },

    // Delivery to managed applications (FR-FLAG-002) --------------------------------------------

    /** The tenant's flags document and ETag, for an application key allowed that tenant. */
    async deliver(ctx: RequestContext, tenantId: string): Promise<DeliveredFlags> {
      await authorizeApplication(ctx, tenantId);
      const delivered = await flags.document(tenantId);
      if (!delivered) throw new AppError('not-found', 'There is no such organization.');
      return delivered;
    },

    /**
     * Calls onDocument with each new version of a tenant's document after `etag` (an open stream),
     * in order; returns `check` (look again now: the stream's heartbeat, the backstop for a lost
     * notification) and `stop`.
     */
    watch(ctx: RequestContext, tenantId: string, etag: string, onDocument: (delivered: DeliveredFlags) => void) {
      let last = etag;
      let stopped = false;
      let queue = Promise.resolve();
      const check = () => {
        queue = queue
          .then(async () => {
            if (stopped) return;
            const next = await flags.document(tenantId);
            if (!stopped && next && next.etag !== last) {
              last = next.etag;
              onDocument(next);
            }
          })
          .catch((error) => ctx.log.warn({ err: error }, 'flag stream could not load the flags'));
      };
      const unsubscribe = flags.onChange((changed) => {
        if (changed === null || changed === tenantId) check();
      });
      return {
        check,
        stop() {
          stopped = true;
          unsubscribe();
        },
      };
    },
  };
}

function switchTarget(input: { name: SwitchTarget['name']; tenant_id?: string | null | undefined; channel?: SwitchTarget['channel'] | undefined }): SwitchTarget {
  const channel = input.channel ?? null;
  if (channel !== null && input.name !== 'messaging') throw new AppError('validation', 'Only the messaging switch has channels.');
  return { name: input.name, tenantId: input.tenant_id ?? null, channel };
}

export type FlagsService = ReturnType<typeof createFlagsService>;
