import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { recordAudit, recordSecurityEvent } from '../../kernel/audit/audit.ts';
import type { RequestContext, SignedInContext } from '../../kernel/context.ts';
import { scopeOf } from '../../kernel/context.ts';
import type { DefaultTenantRole } from '../../kernel/auth/permissions.ts';
import type { SecretBox } from '../../kernel/crypto/secret-box.ts';
import { inPlane, isUuid, type Tx } from '../../kernel/db/database.ts';
import type { PlatformRoleColumn } from '../../kernel/db/schema.ts';
import { AppError } from '../../kernel/errors.ts';
import { recentSecondFactor, stepUpRequired } from '../../kernel/auth/step-up.ts';
import { createOutboundFetch, type OutboundFetch } from '../../kernel/outbound-fetch.ts';
import type { Platform } from '../../kernel/platform.ts';
import { holdsSensitivePermission } from '../access/index.ts';
import { findUserById, normalizeEmail, type IdentityService } from '../identity/index.ts';
import { activeFactorKinds } from '../mfa/index.ts';
import type { DeviceInput, TokenPair } from '../sessions/index.ts';
import { authorizationUrl, discoverProvider, pkce, ProviderError, redeemCode } from './oidc.ts';
import {
  claimSsoCode,
  claimSsoState,
  deleteSsoConfig,
  findAccountByEmail,
  findAccountStatus,
  findIdentity,
  findSsoConfig,
  findSsoLoginByCode,
  findSsoLoginByState,
  hasIdentityAt,
  insertIdentity,
  insertSsoConfig,
  insertSsoLogin,
  markEmailVerified,
  purgeSsoLogins,
  setSsoLoginCode,
  touchIdentity,
  updateSsoConfig,
  type SsoConfigRow,
} from './sso.queries.ts';
import type { SsoConfigInput } from './sso.schemas.ts';
import { findTenantById, findTenantBySlug } from '../tenancy/index.ts';

export const CALLBACK_PATH = '/v1/auth/sso/callback';
const PLATFORM_SCOPE = 'platform';
const LOGIN_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
const PURGE_AFTER_MS = 24 * 3600_000;
/** ID token `amr` values that prove a second factor at the provider (RFC 8176). */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk']);

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const random = () => randomBytes(32).toString('base64url');

/** Equal-length hex digests compared in constant time. */
function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `<tenant id | platform>.<secret>`: says which context holds the row before anyone is authenticated. */
function scoped(scope: string | null, secret: string) {
  return `${scope ?? PLATFORM_SCOPE}.${secret}`;
}

function parseScoped(value: string | undefined): { tenantId: string | null; secret: string } | null {
  if (!value) return null;
  const [scope, secret, extra] = value.split('.');
  if (!scope || !secret || extra !== undefined || secret.length < 40) return null;
  if (scope !== PLATFORM_SCOPE && !isUuid(scope)) return null;
  return { tenantId: scope === PLATFORM_SCOPE ? null : scope, secret };
}

/**
 * The cookie that binds a sign-in to the browser that started it (login CSRF). `__Host-`: the
 * browser keeps it only when it is Secure, for Path=/ and without a Domain, so neither a sibling
 * subdomain nor a plain-http page can plant or overwrite it.
 */
export function browserCookieName(stateHash: string) {
  return `__Host-tsv_sso_${stateHash.slice(0, 16)}`;
}

/** Where the callback sends the browser: the console, with a one-time code or an error code. */
export type CallbackOutcome = { location: string; clearCookie: string | null };

/**
 * Error codes the console explains (never which account, or whether one exists: only
 * `account_link_required` says that an account has the address the provider verified for the
 * person signing in). `idp_unavailable` is the one worth retrying as it is.
 */
export type SsoErrorCode =
  | 'state_invalid'
  | 'sso_unavailable'
  | 'idp_unavailable'
  | 'provider_error'
  | 'id_token_invalid'
  | 'idp_denied'
  | 'not_allowed'
  | 'account_link_required';

/** Authorization error responses (RFC 6749 4.1.2.1) that say the provider is down, not that it refused. */
const PROVIDER_OUTAGE_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

class SignInFailure extends Error {
  constructor(
    readonly code: SsoErrorCode,
    readonly reason: string,
    readonly security: 'high' | 'medium' | null = null,
    readonly detail: string | null = null,
  ) {
    super(reason);
  }
}

/** A provider's failure as the console explains it: down (retry later), an answer that does not verify, or anything else. */
function providerFailure(error: ProviderError): SignInFailure {
  if (error.unavailable) return new SignInFailure('idp_unavailable', error.reason, null, error.message);
  // A token that does not verify may be forged: a security event.
  if (error.reason.startsWith('id_token')) return new SignInFailure('id_token_invalid', error.reason, 'high', error.message);
  return new SignInFailure('provider_error', error.reason, null, error.message);
}

/** An identity provider ready for a sign-in, with the role its JIT users get in its context. */
type ResolvedProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowedDomains: string[];
  /** A first sign-in may link an existing account with the verified address (the platform's provider: always). */
  linkExistingAccounts: boolean;
} & ({ tenantId: string; defaultRole: DefaultTenantRole } | { tenantId: null; defaultRole: PlatformRoleColumn });

function publicConfig(tenantId: string, redirectUri: string, row: SsoConfigRow | undefined) {
  return {
    tenant_id: tenantId,
    configured: row !== undefined,
    issuer: row?.issuer ?? null,
    client_id: row?.client_id ?? null,
    client_secret_set: row !== undefined,
    allowed_domains: row?.allowed_domains ?? [],
    enabled: row?.enabled ?? false,
    default_role: row?.default_role ?? null,
    link_existing_accounts: row?.link_existing_accounts ?? false,
    redirect_uri: redirectUri,
    version: row?.version ?? null,
    updated_at: row ? row.updated_at.toISOString() : null,
  };
}

const secretPlace = (tenantId: string | null, purpose: string) => `${tenantId ?? PLATFORM_SCOPE}/${purpose}`;

export function createSsoService(platform: Platform, identity: IdentityService, secrets: SecretBox, stepUp: { stepUpMaxAgeSeconds: number }, outbound?: OutboundFetch) {
  const { db, config } = platform;
  const fetch = outbound ?? createOutboundFetch({ allowHosts: config.outboundAllowHosts });
  const redirectUri = `${config.publicUrl}${CALLBACK_PATH}`;
  const consoleUrl = (params: Record<string, string>) => `${config.publicUrl}/#/sso-complete?${new URLSearchParams(params).toString()}`;

  async function validateProvider(issuer: string) {
    try {
      return await discoverProvider(fetch, issuer, config.outboundAllowHosts);
    } catch (error) {
      if (error instanceof ProviderError) throw new AppError('sso-provider-invalid', error.message, { reason: error.reason });
      throw error;
    }
  }

  /** CAUTION: resolves a login page's organization (platform plane) and reads its SSO settings in its context. */
  async function tenantProvider(slug: string): Promise<ResolvedProvider | null> {
    return db.withPlatform(async (tx, transaction) => {
      const tenant = await findTenantBySlug(tx, slug);
      if (!tenant || tenant.status !== 'active') return null;
      await transaction.continueInTenant(tenant.id);
      const row = await findSsoConfig(tx);
      return row?.enabled ? resolved(tenant.id, row) : null;
    });
  }

  function resolved(tenantId: string, row: SsoConfigRow): ResolvedProvider {
    return {
      tenantId,
      issuer: row.issuer,
      clientId: row.client_id,
      clientSecret: secrets.open(row.client_secret_sealed, secretPlace(tenantId, 'sso.client_secret')),
      allowedDomains: row.allowed_domains,
      defaultRole: row.default_role,
      linkExistingAccounts: row.link_existing_accounts,
    };
  }

  function platformProvider(): ResolvedProvider | null {
    const oidc = config.platformOidc;
    if (!oidc) return null;
    // The deployment's own provider, set in its environment: trusted to link staff accounts by address.
    return {
      tenantId: null,
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      clientSecret: oidc.clientSecret,
      allowedDomains: oidc.allowedDomains,
      defaultRole: oidc.defaultRole,
      linkExistingAccounts: true,
    };
  }

  /**
   * Opens a sign-in: the state row, and the provider's authorization URL with the browser cookie.
   * With `linkUserId`, the sign-in links that signed-in user instead of signing anyone in.
   */
  async function begin(provider: ResolvedProvider, linkUserId: string | null = null): Promise<{ location: string; cookie: { name: string; value: string } }> {
    const discovered = await discoverProvider(fetch, provider.issuer, config.outboundAllowHosts);
    const state = scoped(provider.tenantId, random());
    const nonce = random();
    const browser = random();
    const verifier = pkce.verifier();
    const stateHash = sha256(state);
    await inPlane(db, provider.tenantId, async (tx) => {
      await purgeSsoLogins(tx, new Date(Date.now() - PURGE_AFTER_MS));
      const { id } = await insertSsoLogin(tx, {
        tenant_id: provider.tenantId,
        state_hash: stateHash,
        browser_hash: sha256(browser),
        // Needed in clear at the callback, so sealed rather than hashed.
        secrets_sealed: secrets.seal(JSON.stringify({ verifier, nonce }), secretPlace(provider.tenantId, `sso.login.${stateHash}`)),
        expires_at: new Date(Date.now() + LOGIN_TTL_MS),
        link_user_id: linkUserId,
      });
      return id;
    });
    const url = authorizationUrl(discovered, fetch, {
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      redirectUri,
      state,
      nonce,
      codeChallenge: await pkce.challenge(verifier),
    });
    return { location: url.toString(), cookie: { name: browserCookieName(stateHash), value: browser } };
  }

  /** Claims the state of a callback: single use, unexpired, from the browser that started it. */
  async function claimState(ctx: RequestContext, state: string | undefined, cookies: Record<string, string>) {
    const parsed = parseScoped(state);
    if (!parsed || !state) throw new SignInFailure('state_invalid', 'state_malformed', 'medium');
    const stateHash = sha256(state);
    const login = await inPlane(db, parsed.tenantId, async (tx) => {
      const row = await findSsoLoginByState(tx, stateHash);
      if (!row) return { error: 'state_unknown' as const };
      if (!(await claimSsoState(tx, row.id))) return { error: 'state_replayed' as const, row };
      return { error: null, row };
    });
    if (login.error === 'state_unknown') throw new SignInFailure('state_invalid', 'state_unknown', 'medium');
    if (login.error === 'state_replayed') throw new SignInFailure('state_invalid', 'state_replayed', 'high');
    const row = login.row;
    if (row.expires_at.getTime() <= Date.now()) throw new SignInFailure('state_invalid', 'state_expired');
    const browser = cookies[browserCookieName(stateHash)];
    // Someone else's callback URL opened in this browser (login CSRF) or a stolen state.
    if (!browser || !sameHash(sha256(browser), row.browser_hash)) throw new SignInFailure('state_invalid', 'browser_mismatch', 'high');
    return { tenantId: parsed.tenantId, state, stateHash, row };
  }

  /** The address the ID token carries, when the provider verified it and its domain is allowed. */
  function vouchedEmail(provider: ResolvedProvider, claims: JWTPayload): string {
    const rawEmail = typeof claims.email === 'string' ? claims.email : null;
    if (!rawEmail || rawEmail.length > 320) throw new SignInFailure('not_allowed', 'email_missing');
    const email = normalizeEmail(rawEmail);
    const verified = claims.email_verified === true || claims.email_verified === 'true';
    if (!verified) throw new SignInFailure('not_allowed', 'email_not_verified');
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (!provider.allowedDomains.includes(domain)) throw new SignInFailure('not_allowed', 'domain_not_allowed');
    return email;
  }

  async function linkIdentity(tx: Tx, ctx: RequestContext, provider: ResolvedProvider, link: { userId: string; subject: string; email: string; how: 'provisioned' | 'address' | 'account' }) {
    const { tenantId, issuer } = provider;
    const identityRow = await insertIdentity(tx, { tenant_id: tenantId, user_id: link.userId, provider: issuer, subject: link.subject, email: link.email });
    await recordAudit(tx, ctx, {
      tenantId,
      action: 'user.identity_linked',
      resourceType: 'user',
      resourceId: link.userId,
      metadata: { identity_id: identityRow.id, issuer, provisioned: link.how === 'provisioned', linked_by: link.how },
    });
  }

  /**
   * An account the provider could take over past the platform's own protections: one with a second
   * factor (SSO sign-ins ask none of their own), or with a sensitive permission (an Owner's, an
   * Administrator's…). Trust in the provider does not link it by address; its holder links it.
   */
  async function needsProofToLink(tx: Tx, userId: string): Promise<boolean> {
    return (await activeFactorKinds(tx, userId)).length > 0 || (await holdsSensitivePermission(tx, userId));
  }

  /**
   * The account a verified ID token signs into, in the provider's context: by (provider, subject);
   * on first sign-in, the account with that address when the organization trusts its provider to
   * link it (and it needs no proof), or a new one (JIT) when there is none; only when the provider
   * says the address is verified and its domain is allowed.
   */
  async function accountFor(tx: Tx, ctx: RequestContext, provider: ResolvedProvider, claims: JWTPayload): Promise<string> {
    const { tenantId, issuer } = provider;
    const subject = claims.sub!;
    const linked = await findIdentity(tx, tenantId, issuer, subject);
    if (linked) {
      await touchIdentity(tx, linked.id);
      return linked.user_id;
    }
    const email = vouchedEmail(provider, claims);
    const existing = await findAccountByEmail(tx, tenantId, email);
    if (existing) {
      // Another subject of this provider already owns the account: never silently re-link it.
      if (await hasIdentityAt(tx, existing.id, issuer)) throw new SignInFailure('not_allowed', 'identity_conflict', 'medium');
      if (!provider.linkExistingAccounts) throw new SignInFailure('account_link_required', 'link_not_trusted');
      if (tenantId !== null && (await needsProofToLink(tx, existing.id))) throw new SignInFailure('account_link_required', 'link_needs_proof');
      await linkIdentity(tx, ctx, provider, { userId: existing.id, subject, email, how: 'address' });
      return existing.id;
    }
    const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : '';
    const userId =
      provider.tenantId === null
        ? await identity.insertUser(tx, ctx, { email, name, passwordHash: null, tenantId: null, role: provider.defaultRole })
        : await identity.insertUser(tx, ctx, { email, name, passwordHash: null, tenantId: provider.tenantId, role: provider.defaultRole });
    await markEmailVerified(tx, userId);
    await recordAudit(tx, ctx, {
      tenantId,
      action: 'user.provisioned',
      resourceType: 'user',
      resourceId: userId,
      metadata: { source: 'sso', issuer, role: provider.defaultRole },
    });
    await linkIdentity(tx, ctx, provider, { userId, subject, email, how: 'provisioned' });
    return userId;
  }

  /**
   * A sign-in started from a signed-in account (the proof path): links the provider subject to that
   * account, when the provider vouches for the account's own address.
   */
  async function linkToAccount(tx: Tx, ctx: RequestContext, provider: ResolvedProvider, claims: JWTPayload, userId: string): Promise<void> {
    const subject = claims.sub!;
    const linked = await findIdentity(tx, provider.tenantId, provider.issuer, subject);
    if (linked?.user_id === userId) return;
    if (linked || (await hasIdentityAt(tx, userId, provider.issuer))) throw new SignInFailure('not_allowed', 'identity_conflict', 'medium');
    const email = vouchedEmail(provider, claims);
    if ((await findAccountByEmail(tx, provider.tenantId, email))?.id !== userId) throw new SignInFailure('not_allowed', 'link_email_mismatch');
    await linkIdentity(tx, ctx, provider, { userId, subject, email, how: 'account' });
  }

  /** The redirect to the provider; a provider that is down or no longer valid sends the browser back to the console. */
  async function startWith(ctx: RequestContext, provider: ResolvedProvider) {
    try {
      return await begin(provider);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      ctx.log.warn({ reason: error.reason, issuer: provider.issuer }, 'identity provider unavailable');
      return { location: consoleUrl({ error: error.unavailable ? 'idp_unavailable' : 'provider_error' }), cookie: null };
    }
  }

  async function recordFailure(ctx: RequestContext, tenantId: string | null, failure: SignInFailure) {
    const metadata = { method: 'sso', reason: failure.reason, ...(failure.detail ? { detail: failure.detail.slice(0, 300) } : {}) };
    if (failure.security) {
      const action = failure.reason.startsWith('state_') || failure.reason === 'browser_mismatch' ? 'security.sso_state_invalid' : 'auth.login';
      await recordSecurityEvent(db, ctx, { tenantId, action, severity: failure.security, outcome: 'denied', metadata });
      return;
    }
    await inPlane(db, tenantId, (tx) => recordAudit(tx, ctx, { tenantId, action: 'auth.login', outcome: 'failure', metadata }));
  }

  return {
    redirectUri,

    async getConfig(ctx: RequestContext) {
      const scope = scopeOf(ctx);
      const row = await db.withTenant(ctx, findSsoConfig);
      return publicConfig(scope.tenantId, redirectUri, row);
    },

    /** FR-AUTH-003: saves the identity provider after its discovery document and keys check out. */
    async putConfig(ctx: SignedInContext, input: SsoConfigInput) {
      const scope = scopeOf(ctx);
      const current = await db.withTenant(ctx, findSsoConfig);
      if (input.version !== undefined && current && current.version !== input.version) throw new AppError('version-conflict');
      if (!current && !input.client_secret) throw new AppError('validation', 'client_secret is required to configure single sign-on.');
      // The stored secret is never sent to a provider other than the one it was entered for.
      if (current && !input.client_secret && (current.issuer !== input.issuer || current.client_id !== input.client_id)) {
        throw new AppError('validation', 'Enter the client secret again when the issuer or the client ID changes.');
      }
      // The network call happens outside any transaction: no connection waits on the provider.
      await validateProvider(input.issuer);
      const tenantId = scope.tenantId;
      const values = {
        issuer: input.issuer,
        client_id: input.client_id,
        client_secret_sealed: input.client_secret ? secrets.seal(input.client_secret, secretPlace(tenantId, 'sso.client_secret')) : current!.client_secret_sealed,
        allowed_domains: [...new Set(input.allowed_domains.map((domain) => domain.toLowerCase()))],
        enabled: input.enabled,
        default_role: input.default_role,
        // Omitted is off: trust to link by address is given explicitly, never kept by accident.
        link_existing_accounts: input.link_existing_accounts ?? false,
        updated_by: ctx.actor.userId,
      };
      const row = await db.withTenant(ctx, async (tx) => {
        const saved = current ? await updateSsoConfig(tx, current.version, values) : await insertSsoConfig(tx, { tenant_id: tenantId, ...values });
        if (!saved) throw new AppError('version-conflict');
        await recordAudit(tx, ctx, {
          tenantId,
          action: 'sso.configured',
          resourceType: 'sso_config',
          resourceId: tenantId,
          // Never the secret: only whether it changed.
          metadata: {
            issuer: values.issuer,
            client_id: values.client_id,
            allowed_domains: values.allowed_domains,
            enabled: values.enabled,
            default_role: values.default_role,
            link_existing_accounts: values.link_existing_accounts,
            secret_changed: Boolean(input.client_secret),
          },
        });
        return saved;
      });
      return publicConfig(tenantId, redirectUri, row);
    },

    async deleteConfig(ctx: RequestContext) {
      const scope = scopeOf(ctx);
      await db.withTenant(ctx, async (tx) => {
        const removed = await deleteSsoConfig(tx);
        if (removed) {
          await recordAudit(tx, ctx, { tenantId: scope.tenantId, action: 'sso.removed', resourceType: 'sso_config', resourceId: scope.tenantId, metadata: { issuer: removed.issuer } });
        }
      });
    },

    /** Whether an organization's login page offers SSO: nothing else, and the same for an unknown slug. */
    async availability(slug: string) {
      return { enabled: (await tenantProvider(slug)) !== null };
    },

    platformAvailability() {
      return { enabled: config.platformOidc !== null };
    },

    /** FR-AUTH-001: the redirect to the organization's provider, or back to the console when there is none. */
    async startTenant(ctx: RequestContext, slug: string) {
      const provider = await tenantProvider(slug);
      if (!provider) return { location: consoleUrl({ error: 'sso_unavailable' }), cookie: null };
      return startWith(ctx, provider);
    },

    /**
     * The proof path of linking (FR-AUTH-001): a signed-in user starts a sign-in at the
     * organization's provider that links it to their account. Being signed in proves the password
     * (and the second factor the login asked for); an account with a second factor must have proven
     * it recently, as for any sensitive action. Never during an impersonation: a link outlives it.
     */
    async startLink(ctx: RequestContext) {
      const actor = ctx.actor;
      const scope = scopeOf(ctx);
      if (actor?.type !== 'user') throw new AppError('forbidden', 'Only a person signed in to their own account can link single sign-on.');
      if (actor.impersonatorId) throw new AppError('forbidden', 'Single sign-on cannot be linked while impersonating.');
      const provider = await db.withTenant(ctx, async (tx) => {
        const row = await findSsoConfig(tx);
        if (!row?.enabled) throw new AppError('not-found', 'Your organization has no single sign-on to link.');
        if (await hasIdentityAt(tx, actor.userId, row.issuer)) throw new AppError('conflict', 'Your account is already linked to the identity provider.');
        if ((await activeFactorKinds(tx, actor.userId)).length > 0 && !recentSecondFactor(actor, stepUp.stepUpMaxAgeSeconds)) {
          throw stepUpRequired(stepUp.stepUpMaxAgeSeconds);
        }
        return resolved(scope.tenantId, row);
      });
      try {
        return await begin(provider, actor.userId);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (error.unavailable) throw new AppError('unavailable', 'The identity provider cannot be reached: try again in a few minutes.');
        throw new AppError('sso-provider-invalid', error.message, { reason: error.reason });
      }
    },

    /** FR-AUTH-011: the redirect to the platform's provider. */
    async startPlatform(ctx: RequestContext) {
      const provider = platformProvider();
      if (!provider) return { location: consoleUrl({ error: 'sso_unavailable' }), cookie: null };
      return startWith(ctx, provider);
    },

    /**
     * The provider's redirect back: state, code exchange, ID token, account. Never throws: every
     * outcome is a redirect to the console, with a one-time code or an error code, and is audited.
     */
    async callback(ctx: RequestContext, query: Record<string, string | undefined>, cookies: Record<string, string>): Promise<CallbackOutcome> {
      let tenantId: string | null = null;
      let clearCookie: string | null = null;
      try {
        // The state names its context: failures from here on are recorded in that chain.
        tenantId = parseScoped(query.state)?.tenantId ?? null;
        const claimed = await claimState(ctx, query.state, cookies);
        clearCookie = browserCookieName(claimed.stateHash);
        if (query.error) {
          throw new SignInFailure(PROVIDER_OUTAGE_ERRORS.has(query.error) ? 'idp_unavailable' : 'idp_denied', 'provider_error_response', null, query.error);
        }
        const provider = tenantId ? await db.withWholeTenant(tenantId, async (tx) => {
          const tenant = await findTenantById(tx, tenantId!);
          const row = await findSsoConfig(tx);
          return tenant?.status === 'active' && row?.enabled ? resolved(tenantId!, row) : null;
        }) : platformProvider();
        if (!provider) throw new SignInFailure('sso_unavailable', 'sso_disabled');
        const callbackUrl = new URL(redirectUri);
        for (const [name, value] of Object.entries(query)) if (value !== undefined) callbackUrl.searchParams.set(name, value);
        let claims: JWTPayload;
        try {
          const sealed = JSON.parse(secrets.open(claimed.row.secrets_sealed, secretPlace(tenantId, `sso.login.${claimed.stateHash}`))) as { verifier: string; nonce: string };
          const discovered = await discoverProvider(fetch, provider.issuer, config.outboundAllowHosts);
          claims = await redeemCode(discovered, fetch, {
            clientId: provider.clientId,
            clientSecret: provider.clientSecret,
            callbackUrl,
            state: claimed.state,
            nonce: sealed.nonce,
            codeVerifier: sealed.verifier,
          });
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          throw providerFailure(error);
        }
        const oidc = config.platformOidc;
        const groups = tenantId === null && oidc ? claims[oidc.groupsClaim] : undefined;
        // FR-RBAC-006: Super Admin for this session only, from the provider's group; never stored on the user.
        const elevatedBy = tenantId === null && oidc?.superAdminGroup && Array.isArray(groups) && groups.includes(oidc.superAdminGroup) ? 'identity_provider_group' : null;
        const amr = ['fed', ...(Array.isArray(claims.amr) && claims.amr.some((value) => MFA_AMR.has(String(value))) ? ['mfa'] : [])];
        const linkUserId = claimed.row.link_user_id;
        if (linkUserId) {
          // The signed-in user keeps the session they have: no code, no new session.
          await inPlane(db, tenantId, async (tx) => {
            if ((await findAccountStatus(tx, linkUserId))?.status !== 'active') throw new SignInFailure('not_allowed', 'account_disabled');
            await linkToAccount(tx, ctx, provider, claims, linkUserId);
          });
          return { location: consoleUrl({ linked: '1' }), clearCookie };
        }
        const code = scoped(tenantId, random());
        await inPlane(db, tenantId, async (tx) => {
          const userId = await accountFor(tx, ctx, provider, claims);
          const account = await findAccountStatus(tx, userId);
          if (account?.status !== 'active') throw new SignInFailure('not_allowed', 'account_disabled');
          await setSsoLoginCode(tx, claimed.row.id, { code_hash: sha256(code), code_expires_at: new Date(Date.now() + CODE_TTL_MS), user_id: userId, amr, elevated_by: elevatedBy });
        });
        return { location: consoleUrl({ code }), clearCookie };
      } catch (error) {
        if (!(error instanceof SignInFailure)) {
          ctx.log.error({ err: error }, 'single sign-on failed');
          await recordFailure(ctx, tenantId, new SignInFailure('provider_error', 'internal'));
          return { location: consoleUrl({ error: 'provider_error' }), clearCookie };
        }
        await recordFailure(ctx, tenantId, error);
        return { location: consoleUrl({ error: error.code }), clearCookie };
      }
    },

    /** The one-time code of a completed sign-in → a session and its token pair (single use, 60 s). */
    async exchange(ctx: RequestContext, code: string, device?: DeviceInput): Promise<TokenPair> {
      const parsed = parseScoped(code);
      const invalid = () => new AppError('sso-code-invalid', 'The sign-in code is not valid or has expired: sign in again.');
      if (!parsed) throw invalid();
      const { tenantId } = parsed;
      const outcome = await inPlane(db, tenantId, async (tx) => {
        const login = await findSsoLoginByCode(tx, sha256(code));
        if (!login || !login.user_id || !login.amr) return { error: 'unknown' as const };
        if (!(await claimSsoCode(tx, login.id))) return { error: 'replayed' as const };
        if (!login.code_expires_at || login.code_expires_at.getTime() <= Date.now()) return { error: 'expired' as const };
        const user = await findUserById(tx, login.user_id);
        const account = await findAccountStatus(tx, login.user_id);
        if (tenantId) {
          const tenant = await findTenantById(tx, tenantId);
          if (tenant?.status !== 'active') return { error: 'tenant_suspended' as const };
        }
        if (!user || account?.status !== 'active') return { error: 'disabled' as const };
        const sign = await identity.openSession(tx, ctx, {
          user: { id: user.id, email: user.email, tenant_id: user.tenant_id, roles: user.roles },
          tenantId,
          amr: login.amr,
          method: 'sso',
          device,
          elevatedBy: login.elevated_by,
          mfaAt: login.amr.includes('mfa') ? login.state_used_at : null,
        });
        return { error: null, sign };
      });
      if (outcome.sign) return outcome.sign();
      if (outcome.error === 'replayed') {
        await recordSecurityEvent(db, ctx, { tenantId, action: 'security.sso_state_invalid', severity: 'high', metadata: { method: 'sso', reason: 'code_replayed' } });
      } else {
        await inPlane(db, tenantId, (tx) => recordAudit(tx, ctx, { tenantId, action: 'auth.login', outcome: 'failure', metadata: { method: 'sso', reason: `code_${outcome.error}` } }));
      }
      if (outcome.error === 'tenant_suspended') throw new AppError('tenant-suspended');
      throw invalid();
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;
