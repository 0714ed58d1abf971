import { recordAudit } from '../../kernel/audit/audit.ts';
import type { Config } from '../../kernel/config.ts';
import type { RequestContext } from '../../kernel/context.ts';
import { mintScopedToken } from '../../kernel/crypto/scoped-token.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { findKnownDevice, type DeviceInput } from '../sessions/index.ts';
import { activeFactorKinds, countUnusedRecoveryCodes, deleteExpiredChallenges, findTenantMfaPolicy, insertChallenge } from './mfa.queries.ts';

/**
 * ERR-AUTH-461: a login challenge lasts 5 minutes; it allows the policy's mfa.challenge_attempts,
 * then it is spent.
 */
export const CHALLENGE_TTL_SECONDS = 5 * 60;
/** Tenant roles a policy of 'admins' covers. */
const ADMIN_ROLES = new Set(['owner', 'admin']);

export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';

/** The extension members of the 401 mfa-required problem. */
export interface LoginChallenge {
  error_code: 'ERR-AUTH-461';
  challenge_token: string;
  methods: MfaMethod[];
  expires_in: number;
  enrollment_required: boolean;
}


/** The second-factor methods a user can answer a challenge with. */
export async function methodsOf(tx: Tx, userId: string): Promise<MfaMethod[]> {
  const kinds = await activeFactorKinds(tx, userId);
  return kinds.length > 0 && (await countUnusedRecoveryCodes(tx, userId)) > 0 ? [...kinds, 'recovery_code'] : kinds;
}

/**
 * Decides, after a correct password and in the login's transaction, whether the sign-in needs a
 * second factor (ERR-AUTH-461): the user has one (NFR-SEC-003), the tenant's policy or
 * PLATFORM_MFA_REQUIRED requires one, or the device is new (FR-AUTH-010, recorded as a reason).
 * If so it stores a challenge and returns what the 401 answer carries; otherwise null.
 */
export async function openLoginChallenge(
  tx: Tx,
  ctx: RequestContext,
  config: Config,
  input: { user: { id: string; roles: string[] }; tenantId: string | null; device?: DeviceInput | undefined },
): Promise<LoginChallenge | null> {
  const { user, tenantId } = input;
  const methods = await methodsOf(tx, user.id);
  const enrolled = methods.length > 0;
  const policy = tenantId ? await findTenantMfaPolicy(tx, tenantId) : undefined;
  const required = tenantId ? (policy?.required ?? 'off') : config.platformMfaRequired ? 'all' : 'off';
  const requiredForUser = required === 'all' || (required === 'admins' && user.roles.some((role) => ADMIN_ROLES.has(role)));
  if (!enrolled && !requiredForUser) return null;
  const deviceId = input.device?.id;
  const knownDevice = tenantId !== null && deviceId !== undefined && (await findKnownDevice(tx, { tenantId, userId: user.id, clientId: deviceId })) !== undefined;
  const newDevice = tenantId !== null && (policy?.new_device ?? true) && !knownDevice;
  const reasons = [...(enrolled ? ['factor_enrolled'] : []), ...(requiredForUser ? ['policy'] : []), ...(enrolled && newDevice ? ['new_device'] : [])];
  await deleteExpiredChallenges(tx, user.id);
  const { token, hash } = mintScopedToken(tenantId);
  const challenge = await insertChallenge(tx, {
    tenant_id: tenantId,
    user_id: user.id,
    purpose: 'login',
    token_hash: hash,
    enrollment_required: !enrolled,
    reasons,
    device: input.device ? JSON.stringify(input.device) : null,
    expires_at: new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000),
  });
  await recordAudit(tx, ctx, {
    tenantId,
    action: 'auth.mfa_challenge',
    resourceType: 'user',
    resourceId: user.id,
    metadata: { challenge_id: challenge.id, reasons, enrollment_required: !enrolled },
  });
  return { error_code: 'ERR-AUTH-461', challenge_token: token, methods, expires_in: CHALLENGE_TTL_SECONDS, enrollment_required: !enrolled };
}
