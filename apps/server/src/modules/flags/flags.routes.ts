import type { ServerResponse } from 'node:http';
import { Type, type TSchema } from 'typebox';
import { AppError } from '../../kernel/errors.ts';
import type { App } from '../../kernel/http/server.ts';
import { Page, Problem, problemResponses, TenantParams, VersionQuery } from '../../kernel/http/schemas.ts';
import type { AppKeyVerifier } from '../apps/index.ts';
import type { DeliveredFlags } from './flag-cache.ts';
import {
  CreateFlagBody,
  DeliveryQuery,
  Flag,
  FlagKeyParams,
  FlagsDocument,
  KillSwitch,
  ListFlagsQuery,
  ListOverridesQuery,
  ListSwitchesQuery,
  Override,
  OverrideTenantQuery,
  PutSettingsBody,
  ResetSwitchBody,
  SetOverrideBody,
  SettingsDocument,
  TenantConfig,
  TripSwitchBody,
  UpdateFlagBody,
} from './flags.schemas.ts';
import type { FlagsService } from './flags.service.ts';

const FLAGS = '/v1/platform/flags';
const SWITCHES = '/v1/platform/kill-switches';
const HEARTBEAT_MS = 15_000;
/** Open streams one node holds at most; past it, applications poll (the SDK falls back by itself). */
const MAX_STREAMS = 10_000;

const unavailable = { 503: Problem };
/** A page whose cursor is the last item's natural key. */
const KeyedPage = <T extends TSchema>(item: T, cursor: string) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String({ description: cursor }), Type.Null()]) });

/** If-None-Match against our strong ETag; weak comparison, as RFC 9110 asks for this header. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === etag);
}

function sseEvent(delivered: DeliveredFlags): string {
  return `event: flags\nid: ${delivered.etag}\ndata: ${JSON.stringify(delivered.document)}\n\n`;
}

export function flagsRoutes(app: App, flags: FlagsService, appKeys: AppKeyVerifier) {
  // Flag definitions and tenant overrides (operators, FR-FLAG-001) ---------------------------------
  const flagTags = ['platform: flags'];
  app.get(
    FLAGS,
    {
      config: { access: 'platform.flags.read', requirements: ['FR-FLAG-001'] },
      schema: {
        tags: flagTags,
        summary: 'List feature flags',
        querystring: ListFlagsQuery,
        response: { 200: KeyedPage(Flag, 'The last key of the page'), ...problemResponses },
      },
    },
    async (request) => flags.listFlags(request.ctx, request.query),
  );
  app.post(
    FLAGS,
    {
      config: { access: 'platform.flags.write', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: 'Create a boolean or variant flag with its platform and plan defaults', body: CreateFlagBody, response: { 201: Flag, ...problemResponses } },
    },
    async (request, reply) => reply.status(201).send(await flags.createFlag(request.ctx, request.body)),
  );
  app.get(
    `${FLAGS}/:key`,
    {
      config: { access: 'platform.flags.read', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: 'Get a flag', params: FlagKeyParams, response: { 200: Flag, ...problemResponses } },
    },
    async (request) => flags.getFlag(request.ctx, request.params.key),
  );
  app.patch(
    `${FLAGS}/:key`,
    {
      config: { access: 'platform.flags.write', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: 'Change a flag (optimistic concurrency)', params: FlagKeyParams, body: UpdateFlagBody, response: { 200: Flag, ...problemResponses } },
    },
    async (request) => flags.updateFlag(request.ctx, request.params.key, request.body),
  );
  app.delete(
    `${FLAGS}/:key`,
    {
      config: { access: 'platform.flags.write', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: 'Delete a flag and its tenant overrides', params: FlagKeyParams, querystring: VersionQuery, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await flags.deleteFlag(request.ctx, request.params.key, request.query.version);
      return reply.status(204).send(null);
    },
  );
  app.get(
    `${FLAGS}/:key/overrides`,
    {
      config: { access: 'platform.flags.read', requirements: ['FR-FLAG-001'] },
      schema: {
        tags: flagTags,
        summary: "List a flag's tenant overrides",
        params: FlagKeyParams,
        querystring: ListOverridesQuery,
        response: { 200: KeyedPage(Override, 'The last tenant id of the page'), ...problemResponses },
      },
    },
    async (request) => flags.listOverrides(request.ctx, request.params.key, request.query),
  );
  app.put(
    `${FLAGS}/:key/overrides`,
    {
      config: { access: 'platform.flags.write', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: "Set a tenant's override of a flag", params: FlagKeyParams, body: SetOverrideBody, response: { 200: Override, ...problemResponses } },
    },
    async (request) => flags.setOverride(request.ctx, request.params.key, request.body),
  );
  app.delete(
    `${FLAGS}/:key/overrides`,
    {
      config: { access: 'platform.flags.write', requirements: ['FR-FLAG-001'] },
      schema: { tags: flagTags, summary: "Remove a tenant's override of a flag", params: FlagKeyParams, querystring: OverrideTenantQuery, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await flags.removeOverride(request.ctx, request.params.key, request.query.tenant_id);
      return reply.status(204).send(null);
    },
  );

  // Kill switches (operators, FR-FLAG-003) ------------------------------------------------------
  const switchTags = ['platform: kill switches'];
  app.get(
    SWITCHES,
    {
      config: { access: 'platform.flags.read', requirements: ['FR-FLAG-003'] },
      schema: { tags: switchTags, summary: 'List kill switches (tripped and reset)', querystring: ListSwitchesQuery, response: { 200: Page(KillSwitch), ...problemResponses } },
    },
    async (request) => flags.listSwitches(request.ctx, request.query),
  );
  app.post(
    `${SWITCHES}/trip`,
    {
      config: { access: 'platform.switches.write', requirements: ['FR-FLAG-003', 'CON-ARCH-005'] },
      schema: {
        tags: switchTags,
        summary: 'Trip a kill switch, global or for one tenant (messaging: optionally one channel); every node stops the action within seconds',
        body: TripSwitchBody,
        response: { 200: KillSwitch, ...problemResponses },
      },
    },
    async (request) => flags.tripSwitch(request.ctx, request.body),
  );
  app.post(
    `${SWITCHES}/reset`,
    {
      config: { access: 'platform.switches.write', requirements: ['FR-FLAG-003', 'CON-ARCH-005'] },
      schema: { tags: switchTags, summary: 'Reset a tripped kill switch; deferred jobs then run', body: ResetSwitchBody, response: { 200: KillSwitch, ...problemResponses } },
    },
    async (request) => flags.resetSwitch(request.ctx, request.body),
  );

  // Tenant configuration (FR-TEN-003) -------------------------------------------------------------
  const tenantTags = ['configuration'];
  app.get(
    '/v1/tenants/:tenantId/config',
    {
      config: { access: 'config.read', requirements: ['FR-TEN-003', 'FR-FLAG-001'] },
      schema: {
        tags: tenantTags,
        summary: "The organization's effective flags, tripped kill switches, settings and branding tokens",
        params: TenantParams,
        response: { 200: TenantConfig, ...problemResponses },
      },
    },
    async (request) => flags.config(request.ctx),
  );
  app.put(
    '/v1/tenants/:tenantId/settings',
    {
      config: { access: 'settings.manage', requirements: ['FR-TEN-003'] },
      schema: {
        tags: tenantTags,
        summary: "Replace the organization's settings and branding tokens",
        params: TenantParams,
        body: PutSettingsBody,
        response: { 200: SettingsDocument, ...problemResponses },
      },
    },
    async (request) => flags.putSettings(request.ctx, request.body),
  );

  // Delivery to managed applications (FR-FLAG-002) -------------------------------------------------
  const appTags = ['applications: flags'];
  app.get(
    '/v1/apps/flags',
    {
      config: { access: 'app:flags:read', requirements: ['FR-FLAG-002'] },
      schema: {
        tags: appTags,
        summary: "A tenant's effective flags and tripped switches, with a strong ETag (If-None-Match gives 304)",
        querystring: DeliveryQuery,
        response: { 200: FlagsDocument, 304: Type.Unsafe<undefined>({ type: 'null', description: 'Not modified: the ETag sent is current (no body)' }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const delivered = await flags.deliver(request.ctx, request.query.tenant);
      // Per tenant and key: a shared cache must not serve it, and a client must ask again each time.
      reply.header('etag', delivered.etag).header('cache-control', 'private, no-cache').header('vary', 'Authorization, X-API-Key');
      // No body at all: a 304 with a serialized `null` would carry a Content-Length that lies.
      if (matches(request.headers['if-none-match'], delivered.etag)) return reply.status(304).send();
      return delivered.document;
    },
  );

  const streams = new Set<ServerResponse>();
  app.get(
    '/v1/apps/flags/stream',
    {
      config: { access: 'app:flags:read', requirements: ['FR-FLAG-002'] },
      schema: {
        tags: appTags,
        summary: 'Server-sent events: a `flags` event (id = ETag) now and after every change; a comment every 15 s',
        querystring: DeliveryQuery,
        response: { 200: Type.String({ description: 'text/event-stream' }), ...problemResponses, ...unavailable },
      },
    },
    async (request, reply) => {
      const tenantId = request.query.tenant;
      const initial = await flags.deliver(request.ctx, tenantId);
      if (streams.size >= MAX_STREAMS) throw new AppError('unavailable', 'Too many open flag streams on this node; poll instead.');
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-request-id': request.id,
      });
      // The heartbeat keeps the connection busy; the server's idle timeout must not cut it.
      request.raw.socket.setTimeout(0);
      raw.write('retry: 3000\n\n');
      // A client that reconnects with the current version gets nothing until the next change.
      if (request.headers['last-event-id'] !== initial.etag) raw.write(sseEvent(initial));
      const watcher = flags.watch(request.ctx, tenantId, initial.etag, (next) => raw.write(sseEvent(next)));
      // A revoked key or a disabled application ends its open streams on every node at once.
      const unwatchKey = appKeys.watch(request, 'flags:read', () => raw.end());
      const heartbeat = setInterval(() => {
        raw.write(': heartbeat\n\n');
        watcher.check();
      }, HEARTBEAT_MS);
      streams.add(raw);
      raw.once('close', () => {
        clearInterval(heartbeat);
        watcher.stop();
        unwatchKey();
        streams.delete(raw);
      });
    },
  );
  // Open streams never end by themselves: end them when the server closes, so shutdown does not wait.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });
}
