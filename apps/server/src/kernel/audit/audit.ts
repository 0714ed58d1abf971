import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RequestContext } from '../context.ts';
import type { AuditEventsTable } from '../db/schema.ts';
import { inPlane, type Database, type Tx } from '../db/database.ts';
import type { ModuleAuditAction } from '../module.ts';

/** The chain of platform events (tenant_id NULL). */
export const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000';

/**
 * The actions the kernel records itself: reads of marked resources, what the guard refuses, rate
 * limits, job scope checks. A module's actions are declared in its definition (`auditActions`).
 */
const KERNEL_AUDIT_ACTIONS = [
  'resource.read',
  'impersonation.request',
  'security.super_admin_request',
  'security.impersonation_forbidden',
  'security.permission_denied',
  'security.cross_tenant_attempt',
  'security.token_session_mismatch',
  'security.rate_limited',
  'security.job_scope_mismatch',
] as const;

/**
 * Every audited action, the kernel's and the modules' (`DeclaredModules`); events that managed
 * applications send through the ingest API are `app.*` (FR-LOG-001).
 */
export type AuditAction = (typeof KERNEL_AUDIT_ACTIONS)[number] | ModuleAuditAction | `app.${string}`;

const AUDIT_ACTION_OWNERS = new Map<string, string>(KERNEL_AUDIT_ACTIONS.map((action) => [action, 'kernel']));

/** Adds a module's actions; called by `defineModule`. An action has one owner. */
export function registerAuditActions(owner: string, actions: readonly string[]): void {
  for (const action of actions) {
    const existing = AUDIT_ACTION_OWNERS.get(action);
    if (existing) throw new Error(`The audit action ${action} of ${owner} is already declared by ${existing}`);
    if (action.startsWith('app.')) throw new Error(`The audit action ${action} of ${owner} is in the namespace of managed applications`);
    AUDIT_ACTION_OWNERS.set(action, owner);
  }
}

/** Every declared action with its owner (docs/audit.md). */
export function auditActionCatalog(): { action: string; owner: string }[] {
  return [...AUDIT_ACTION_OWNERS].map(([action, owner]) => ({ action, owner }));
}

export interface AuditInput {
  /** The chain the event belongs to: the tenant's, or null for the platform chain. */
  tenantId: string | null;
  action: AuditAction;
  outcome?: AuditEventsTable['outcome'];
  resourceType?: string;
  resourceId?: string;
  metadata?: Record<string, unknown>;
  category?: AuditEventsTable['category'];
  severity?: AuditEventsTable['severity'];
  /**
   * Set when the facts do not come from the request context: events a managed application sends
   * (FR-LOG-001: its event id, the idempotency key, its time, actor and client), or a system job
   * naming itself as the actor. Otherwise they come from the context.
   */
  id?: string;
  occurredAt?: Date;
  actor?: { type: AuditEventsTable['actor_type']; id: string | null };
  ip?: string | null;
  userAgent?: string | null;
}

/** JSON with sorted keys, so that a payload hashes the same when rebuilt from its columns. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

type HashedFields = Omit<AuditEventsTable, 'chain_id' | 'seq' | 'prev_hash' | 'hash' | 'metadata' | 'impersonator_id' | 'impersonation_reason'> & {
  metadata: Record<string, unknown>;
  impersonator_id?: string | null;
  impersonation_reason?: string | null;
};

/** The text an event's hash covers (besides the previous hash and the sequence number). */
export function auditPayload(event: HashedFields): string {
  return canonicalJson({
    id: event.id,
    tenant_id: event.tenant_id,
    occurred_at: new Date(event.occurred_at).toISOString(),
    category: event.category,
    severity: event.severity,
    actor_type: event.actor_type,
    actor_id: event.actor_id,
    action: event.action,
    resource_type: event.resource_type,
    resource_id: event.resource_id,
    outcome: event.outcome,
    ip: event.ip,
    user_agent: event.user_agent,
    correlation_id: event.correlation_id,
    metadata: event.metadata,
    // Hashed only when set (canonicalJson drops undefined), so events without them hash as before.
    impersonator_id: event.impersonator_id ?? undefined,
    impersonation_reason: event.impersonation_reason ?? undefined,
  });
}

export function chainHash(prevHash: string, seq: number, payload: string): string {
  return createHash('sha256').update(`${prevHash}\n${seq}\n${payload}`).digest('hex');
}

/**
 * Appends an event to its chain inside the caller's transaction, so the event commits or rolls
 * back with the change it records. The chain head row is locked for the statement, so concurrent
 * writers queue behind each other and can never fork the chain.
 */
export async function recordAudit(tx: Tx, ctx: RequestContext, input: AuditInput): Promise<void> {
  const actor = ctx.actor;
  const impersonatorId = actor?.impersonatorId ?? null;
  const fields: HashedFields = {
    id: input.id ?? randomUUID(),
    tenant_id: input.tenantId,
    occurred_at: input.occurredAt ?? new Date(),
    category: input.category ?? 'audit',
    severity: input.severity ?? 'info',
    // A managed application calling with its key is the actor of what it does itself.
    actor_type: input.actor?.type ?? (actor ? actor.type : ctx.app ? 'api_key' : 'anonymous'),
    actor_id: input.actor ? input.actor.id : (actor?.userId ?? ctx.app?.keyId ?? null),
    action: input.action,
    resource_type: input.resourceType ?? null,
    resource_id: input.resourceId ?? null,
    outcome: input.outcome ?? 'success',
    ip: input.ip !== undefined ? input.ip : ctx.ip,
    user_agent: input.userAgent !== undefined ? input.userAgent : ctx.userAgent,
    correlation_id: ctx.correlationId,
    metadata: input.metadata ?? {},
    // FR-RBAC-005: whatever an impersonated actor does names the staff member behind it and why.
    impersonator_id: impersonatorId,
    impersonation_reason: impersonatorId ? (actor!.impersonationReason ?? null) : null,
  };
  const chainId = input.tenantId ?? PLATFORM_CHAIN;
  const payload = auditPayload(fields);
  const appended = await sql<{ seq: number }>`
    with head as (
      update audit_chain_heads h
         set seq = h.seq + 1,
             last_hash = encode(sha256(convert_to(prev.last_hash || chr(10) || (h.seq + 1)::text || chr(10) || ${payload}, 'UTF8')), 'hex')
        from (select chain_id, last_hash from audit_chain_heads where chain_id = ${chainId} for update) prev
       where h.chain_id = prev.chain_id
      returning h.seq, prev.last_hash as prev_hash, h.last_hash as hash
    )
    insert into audit_events (id, tenant_id, chain_id, seq, occurred_at, category, severity, actor_type, actor_id,
      action, resource_type, resource_id, outcome, ip, user_agent, correlation_id, metadata, impersonator_id, impersonation_reason,
      prev_hash, hash)
    select ${fields.id}, ${fields.tenant_id}, ${chainId}, head.seq, ${fields.occurred_at.toISOString()}, ${fields.category},
      ${fields.severity}, ${fields.actor_type}, ${fields.actor_id}, ${fields.action}, ${fields.resource_type},
      ${fields.resource_id}, ${fields.outcome}, ${fields.ip}, ${fields.user_agent}, ${fields.correlation_id},
      ${JSON.stringify(fields.metadata)}::jsonb, ${fields.impersonator_id}, ${fields.impersonation_reason}, head.prev_hash, head.hash
      from head
    returning seq`.execute(tx);
  if (appended.rows.length !== 1) throw new Error(`audit chain ${chainId} has no head`);
}

/** Starts a tenant's chain; called when the tenant is provisioned, inside its context. */
export async function openAuditChain(tx: Tx, tenantId: string): Promise<void> {
  await tx.insertInto('audit_chain_heads').values({ chain_id: tenantId, tenant_id: tenantId }).execute();
}

/**
 * Records a security event in a transaction of its own: the request that provoked it usually
 * fails, and its own transaction rolls back.
 */
export async function recordSecurityEvent(
  db: Database,
  ctx: RequestContext,
  input: Omit<AuditInput, 'category'> & { severity: AuditEventsTable['severity'] },
): Promise<void> {
  const event = { ...input, category: 'security' as const, outcome: input.outcome ?? 'denied' };
  try {
    await inPlane(db, input.tenantId, (tx) => recordAudit(tx, ctx, event));
  } catch (error) {
    ctx.log.error({ err: error, action: input.action }, 'could not record security event');
  }
}

/** What a route marked sensitive reads (FR-AUD-005), declared as its route config `auditRead`. */
export interface AuditReadMark {
  resourceType: string;
  /** The path parameter that holds the resource id; `id` when absent. */
  idParam?: string;
}

/**
 * Records a read of a sensitive resource in a transaction of its own, before the response leaves.
 * Unlike a security event its failure is thrown: the read is then not served (FR-AUD-005).
 */
export async function recordResourceRead(db: Database, ctx: RequestContext, mark: AuditReadMark, params: Record<string, unknown>): Promise<void> {
  // A managed application has no tenant of its own: the guard checked the path's tenant against its key.
  const tenantId = ctx.actor ? ctx.actor.tenantId : typeof params.tenantId === 'string' ? params.tenantId : null;
  const id = params[mark.idParam ?? 'id'];
  const event: AuditInput = { tenantId, action: 'resource.read', resourceType: mark.resourceType, ...(typeof id === 'string' ? { resourceId: id } : {}) };
  await inPlane(db, tenantId, (tx) => recordAudit(tx, ctx, event));
}

/** What `recordPrivilegedRequest` records of a request. */
export interface PrivilegedRequest {
  method: string;
  route: string | undefined;
  status: number;
}

/**
 * Records a request, reads included, when it is made in an impersonation session (FR-RBAC-005:
 * into the impersonated tenant's chain, with both identities) or with a Super Admin session
 * (FR-RBAC-006: a high-severity event in the platform chain). Anyone else's requests are audited
 * only by the state changes they make.
 */
export async function recordPrivilegedRequest(db: Database, ctx: RequestContext, request: PrivilegedRequest): Promise<void> {
  const actor = ctx.actor;
  if (!actor) return;
  const event = {
    outcome: request.status < 400 ? ('success' as const) : request.status === 401 || request.status === 403 ? ('denied' as const) : ('failure' as const),
    metadata: { method: request.method, route: request.route ?? null, status: request.status },
  };
  const tenantId = actor.tenantId;
  if (actor.impersonatorId && tenantId) {
    await db.withWholeTenant(tenantId, (tx) => recordAudit(tx, ctx, { ...event, tenantId, action: 'impersonation.request' }));
  } else if (tenantId === null && actor.type === 'operator' && actor.roles.includes('super_admin')) {
    // The token of an elevated session names the role (modules/identity adds it at login and refresh).
    await db.withPlatform((tx) =>
      recordAudit(tx, ctx, { ...event, tenantId: null, action: 'security.super_admin_request', category: 'security', severity: 'high' }),
    );
  }
}
