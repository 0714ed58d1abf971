import { recordAudit, openAuditChain } from '../../kernel/audit/audit.ts';
import { announceRevocation, withRevocation } from '../../kernel/auth/revocation.ts';
import type { RequestContext } from '../../kernel/context.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { AppError } from '../../kernel/errors.ts';
import { decodeCursor, toPage, type PageQueryType } from '../../kernel/paging.ts';
import { createNotifier } from '../../kernel/notify/notify.ts';
import type { Platform } from '../../kernel/platform.ts';
import { insertDefaultRoles } from '../access/index.ts';
import { announceFlagChange } from '../flags/index.ts';
import { normalizeEmail, type IdentityService } from '../identity/index.ts';
import { revokeAllSessions } from '../sessions/index.ts';
import type { VerificationService } from '../verification/index.ts';
import { findTenantById, insertTenant, listTenants, updateTenant } from './tenancy.queries.ts';
import type { CreateTenantInput, UpdateTenantInput } from './tenancy.schemas.ts';

type TenantRow = NonNullable<Awaited<ReturnType<typeof findTenantById>>>;

const view = (row: TenantRow) => ({ ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() });

/** Slugs that name fixed paths beside /v1/auth/sso/{tenantSlug}, so no organization can take them. */
const RESERVED_SLUGS = new Set(['callback', 'exchange']);

export function createTenancyService(platform: Platform, identity: IdentityService, verification: VerificationService) {
  const { db, passwords, sessions, jobs } = platform;
  const notifier = createNotifier(jobs);

  async function change(ctx: RequestContext, id: string, version: number | null, changes: Parameters<typeof updateTenant>[3], tx: Tx) {
    const updated = await updateTenant(tx, id, version, changes);
    if (updated) return updated;
    const exists = await findTenantById(tx, id);
    throw exists ? new AppError('version-conflict', `The current version is ${exists.version}.`) : new AppError('not-found');
  }

  /** Suspension and reactivation: both planes change in one transaction. */
  async function setStatus(ctx: RequestContext, id: string, status: 'active' | 'suspended') {
    const action = status === 'suspended' ? 'tenant.suspended' : 'tenant.reactivated';
    const updated = await withRevocation(sessions, { kind: 'tenant', id }, () =>
      db.withPlatform(async (tx, transaction) => {
        const row = await change(ctx, id, null, { status }, tx);
        await recordAudit(tx, ctx, { tenantId: null, action, resourceType: 'tenant', resourceId: id });
        if (status === 'suspended') {
          // FR-TEN-002: every session of the tenant ends now, on every node.
          await transaction.continueInTenant(id);
          await revokeAllSessions(tx, 'tenant_suspended');
          await announceRevocation(tx, { kind: 'tenant', id });
          await recordAudit(tx, ctx, { tenantId: id, action, resourceType: 'tenant', resourceId: id });
        }
        return row;
      }),
    );
    return view(updated);
  }

  return {
    /** UC-PROV-001: the tenant, its audit chain and its first Owner, in one transaction. */
    async create(ctx: RequestContext, input: CreateTenantInput) {
      if (RESERVED_SLUGS.has(input.slug)) throw new AppError('validation', `The slug "${input.slug}" is reserved.`);
      const passwordHash = input.owner.password ? await passwords.hash(input.owner.password) : null;
      const tenant = await db.withPlatform(async (tx, transaction) => {
        const existing = await tx.selectFrom('tenants').select('id').where('slug', '=', input.slug).executeTakeFirst();
        if (existing) throw new AppError('conflict', 'That slug is taken.');
        const row = await insertTenant(tx, { name: input.name, slug: input.slug, plan: input.plan ?? 'standard', region: input.region });
        await recordAudit(tx, ctx, {
          tenantId: null,
          action: 'tenant.created',
          resourceType: 'tenant',
          resourceId: row.id,
          metadata: { slug: row.slug, region: row.region, plan: row.plan },
        });
        await transaction.continueInTenant(row.id);
        await openAuditChain(tx, row.id);
        await recordAudit(tx, ctx, { tenantId: row.id, action: 'tenant.created', resourceType: 'tenant', resourceId: row.id });
        await insertDefaultRoles(tx, row.id);
        const ownerId = await identity.insertUser(tx, ctx, {
          tenantId: row.id,
          email: input.owner.email,
          name: input.owner.name ?? '',
          role: 'owner',
          passwordHash,
        });
        const ownerEmail = normalizeEmail(input.owner.email);
        await notifier.notify(
          tx,
          {
            channel: 'email',
            tenantId: row.id,
            kind: 'welcome',
            to: ownerEmail,
            subject: `Welcome to ${row.name}`,
            text: `Hello ${input.owner.name || ownerEmail},\n\nYour organization "${row.name}" is ready. Sign in with the organization "${row.slug}".`,
          },
          ctx.correlationId,
        );
        // FR-VER-001: the Owner's address came from the operator, not from a mailed token.
        await verification.issueEmailVerification(tx, ctx, { id: ownerId, tenant_id: row.id, email: ownerEmail });
        return row;
      });
      return view(tenant);
    },

    async list(_ctx: RequestContext, query: PageQueryType & { status?: 'active' | 'suspended' }) {
      const limit = query.limit ?? 50;
      const rows = await db.withPlatform((tx) => listTenants(tx, { limit, after: decodeCursor(query.cursor), status: query.status }));
      return toPage(rows, limit, view);
    },

    async get(_ctx: RequestContext, id: string) {
      const row = await db.withPlatform((tx) => findTenantById(tx, id));
      if (!row) throw new AppError('not-found');
      return view(row);
    },

    async update(ctx: RequestContext, id: string, input: UpdateTenantInput) {
      const { version, ...changes } = input;
      const row = await db.withPlatform(async (tx) => {
        const updated = await change(ctx, id, version, changes, tx);
        await recordAudit(tx, ctx, { tenantId: null, action: 'tenant.updated', resourceType: 'tenant', resourceId: id, metadata: changes });
        // Plan defaults of flags follow the plan on every node at once.
        if (changes.plan !== undefined) await announceFlagChange(tx, { reload: false, tenantId: id });
        return updated;
      });
      return view(row);
    },

    /**
     * FR-TENANT-003: a tenant's Owner changes its plan (the route needs plan.manage, which only
     * Owners hold). Recorded in the platform chain and the tenant's chain; every node drops the
     * tenant's cached flags, whose plan defaults may differ.
     */
    async changePlan(ctx: RequestContext, tenantId: string, plan: string) {
      const updated = await db.withPlatform(async (tx, transaction) => {
        const current = await findTenantById(tx, tenantId);
        if (!current) throw new AppError('not-found');
        if (current.plan === plan) return current;
        // At the version read: a concurrent change makes this one a 409, never a wrong "from".
        const row = await change(ctx, tenantId, current.version, { plan }, tx);
        const event = { action: 'tenant.plan_changed', resourceType: 'tenant', resourceId: tenantId, metadata: { from: current.plan, to: plan } } as const;
        await recordAudit(tx, ctx, { tenantId: null, ...event });
        await transaction.continueInTenant(tenantId);
        await recordAudit(tx, ctx, { tenantId, ...event });
        await announceFlagChange(tx, { reload: false, tenantId });
        return row;
      });
      return view(updated);
    },

    suspend: (ctx: RequestContext, id: string) => setStatus(ctx, id, 'suspended'),
    reactivate: (ctx: RequestContext, id: string) => setStatus(ctx, id, 'active'),
  };
}

export type TenancyService = ReturnType<typeof createTenancyService>;
