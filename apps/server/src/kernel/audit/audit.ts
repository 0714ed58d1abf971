import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RequestContext } from '../context.ts';
import type { AuditEventsTable } from '../db/schema.ts';
import type { Database, Tx } from '../db/database.ts';

/** The chain of platform events (tenant_id NULL). */
export const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000';

/** Typed action names: adding an audited action means adding it here. */
export type AuditAction =
  | 'auth.login'
  | 'auth.logout'
  | 'auth.refresh'
  | 'auth.refresh_reuse'
  | 'session.revoked'
  | 'tenant.created'
  | 'tenant.updated'
  | 'tenant.suspended'
  | 'tenant.reactivated'
  | 'user.created'
  | 'customer.created'
  | 'customer.updated'
  | 'customer.deleted'
  | 'order.created'
  | 'order.updated'
  | 'order.deleted'
  | 'security.cross_tenant_attempt'
  | 'security.permission_denied';

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

type HashedFields = Omit<AuditEventsTable, 'chain_id' | 'seq' | 'prev_hash' | 'hash' | 'metadata'> & {
  metadata: Record<string, unknown>;
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
  const fields: HashedFields = {
    id: randomUUID(),
    tenant_id: input.tenantId,
    occurred_at: new Date(),
    category: input.category ?? 'audit',
    severity: input.severity ?? 'info',
    actor_type: actor ? actor.type : 'anonymous',
    actor_id: actor?.userId ?? null,
    action: input.action,
    resource_type: input.resourceType ?? null,
    resource_id: input.resourceId ?? null,
    outcome: input.outcome ?? 'success',
    ip: ctx.ip,
    user_agent: ctx.userAgent,
    correlation_id: ctx.correlationId,
    metadata: input.metadata ?? {},
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
      action, resource_type, resource_id, outcome, ip, user_agent, correlation_id, metadata, prev_hash, hash)
    select ${fields.id}, ${fields.tenant_id}, ${chainId}, head.seq, ${fields.occurred_at.toISOString()}, ${fields.category},
      ${fields.severity}, ${fields.actor_type}, ${fields.actor_id}, ${fields.action}, ${fields.resource_type},
      ${fields.resource_id}, ${fields.outcome}, ${fields.ip}, ${fields.user_agent}, ${fields.correlation_id},
      ${JSON.stringify(fields.metadata)}::jsonb, head.prev_hash, head.hash
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
    if (input.tenantId) await db.withTenant(input.tenantId, (tx) => recordAudit(tx, ctx, event));
    else await db.withPlatform((tx) => recordAudit(tx, ctx, event));
  } catch (error) {
    ctx.log.error({ err: error, action: input.action }, 'could not record security event');
  }
}
