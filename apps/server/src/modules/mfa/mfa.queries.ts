import { sql } from 'kysely';
import type { Tx } from '../../kernel/db/database.ts';
import type { MfaChallengesTable } from './mfa.tables.ts';

/** Every query runs in the owner's context: the tenant's, or the platform's for staff. */

export function listFactors(tx: Tx, userId: string) {
  return tx
    .selectFrom('mfa_factors')
    .select(['id', 'kind', 'name', 'status', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The kinds of the user's active factors, each once. */
export async function activeFactorKinds(tx: Tx, userId: string): Promise<('totp' | 'webauthn')[]> {
  const rows = await tx.selectFrom('mfa_factors').select('kind').distinct().where('user_id', '=', userId).where('status', '=', 'active').orderBy('kind').execute();
  return rows.map((row) => row.kind);
}

export function findFactor(tx: Tx, userId: string, factorId: string) {
  return tx.selectFrom('mfa_factors').selectAll().where('id', '=', factorId).where('user_id', '=', userId).executeTakeFirst();
}

export function activeTotpFactors(tx: Tx, userId: string) {
  return tx
    .selectFrom('mfa_factors')
    .select(['id', 'secret', 'last_used_step'])
    .where('user_id', '=', userId)
    .where('kind', '=', 'totp')
    .where('status', '=', 'active')
    .forUpdate()
    .execute();
}

export function webauthnCredentials(tx: Tx, userId: string) {
  return tx
    .selectFrom('mfa_factors')
    .select(['id', 'credential_id', 'public_key', 'sign_count', 'transports', 'status'])
    .where('user_id', '=', userId)
    .where('kind', '=', 'webauthn')
    .execute();
}

export function insertFactor(
  tx: Tx,
  factor: {
    tenant_id: string | null;
    user_id: string;
    kind: 'totp' | 'webauthn';
    name: string;
    status: 'pending' | 'active';
    secret?: string;
    credential_id?: string;
    public_key?: string;
    sign_count?: number;
    transports?: string[];
  },
) {
  return tx.insertInto('mfa_factors').values(factor).returning(['id', 'kind', 'name', 'status', 'created_at', 'last_used_at']).executeTakeFirstOrThrow();
}

/** A pending TOTP factor replaced by a new enrolment, or removed. */
export function deletePendingTotp(tx: Tx, userId: string) {
  return tx.deleteFrom('mfa_factors').where('user_id', '=', userId).where('kind', '=', 'totp').where('status', '=', 'pending').execute();
}

export function activateFactor(tx: Tx, factorId: string, step: number) {
  return tx.updateTable('mfa_factors').set({ status: 'active', last_used_step: step, last_used_at: new Date() }).where('id', '=', factorId).execute();
}

/** Records the step a TOTP code was accepted at; false when a parallel request used it first. */
export async function claimTotpStep(tx: Tx, factorId: string, step: number): Promise<boolean> {
  const result = await tx
    .updateTable('mfa_factors')
    .set({ last_used_step: step, last_used_at: new Date() })
    .where('id', '=', factorId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export function updateSignCount(tx: Tx, factorId: string, signCount: number) {
  return tx.updateTable('mfa_factors').set({ sign_count: signCount, last_used_at: new Date() }).where('id', '=', factorId).execute();
}

export function deleteFactor(tx: Tx, factorId: string) {
  return tx.deleteFrom('mfa_factors').where('id', '=', factorId).execute();
}

export async function replaceRecoveryCodes(tx: Tx, owner: { tenant_id: string | null; user_id: string }, hashes: string[]): Promise<void> {
  await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', owner.user_id).execute();
  if (hashes.length > 0) await tx.insertInto('mfa_recovery_codes').values(hashes.map((code_hash) => ({ ...owner, code_hash }))).execute();
}

export function deleteRecoveryCodes(tx: Tx, userId: string) {
  return tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
}

export function unusedRecoveryCodes(tx: Tx, userId: string) {
  return tx.selectFrom('mfa_recovery_codes').select(['id', 'code_hash']).where('user_id', '=', userId).where('used_at', 'is', null).forUpdate().execute();
}

export async function countUnusedRecoveryCodes(tx: Tx, userId: string): Promise<number> {
  const row = await tx
    .selectFrom('mfa_recovery_codes')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function useRecoveryCode(tx: Tx, codeId: string): Promise<boolean> {
  const result = await tx.updateTable('mfa_recovery_codes').set({ used_at: new Date() }).where('id', '=', codeId).where('used_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export function insertChallenge(
  tx: Tx,
  challenge: {
    tenant_id: string | null;
    user_id: string;
    purpose: MfaChallengesTable['purpose'];
    token_hash?: string | null;
    webauthn_challenge?: string | null;
    enrollment_required?: boolean;
    reasons?: string[];
    device?: string | null;
    expires_at: Date;
  },
) {
  return tx.insertInto('mfa_challenges').values(challenge).returning('id').executeTakeFirstOrThrow();
}

/** Challenges of a user that expired a day ago or more: kept a while for reuse detection, then deleted. */
export function deleteExpiredChallenges(tx: Tx, userId: string) {
  return tx.deleteFrom('mfa_challenges').where('user_id', '=', userId).where('expires_at', '<', new Date(Date.now() - 86_400_000)).execute();
}

/** A login challenge by its token, locked: attempts and use are counted on one row at a time. */
export function findLoginChallenge(tx: Tx, tokenHash: string) {
  return tx.selectFrom('mfa_challenges').selectAll().where('token_hash', '=', tokenHash).where('purpose', '=', 'login').forUpdate().executeTakeFirst();
}

export function setChallengeWebauthn(tx: Tx, challengeId: string, webauthnChallenge: string) {
  return tx.updateTable('mfa_challenges').set({ webauthn_challenge: webauthnChallenge }).where('id', '=', challengeId).execute();
}

export function countChallengeAttempt(tx: Tx, challengeId: string) {
  return tx
    .updateTable('mfa_challenges')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', challengeId)
    .returning('attempts')
    .executeTakeFirstOrThrow();
}

export async function useChallenge(tx: Tx, challengeId: string): Promise<boolean> {
  const result = await tx.updateTable('mfa_challenges').set({ used_at: new Date() }).where('id', '=', challengeId).where('used_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Claims the live WebAuthn ceremony of a signed-in user that issued this challenge (single use). */
export async function claimCeremony(tx: Tx, userId: string, purpose: 'registration' | 'step_up', webauthnChallenge: string): Promise<boolean> {
  const result = await tx
    .updateTable('mfa_challenges')
    .set({ used_at: new Date() })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('webauthn_challenge', '=', webauthnChallenge)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export function findTenantMfaPolicy(tx: Tx, tenantId: string) {
  return tx.selectFrom('tenant_mfa_policy').select(['required', 'new_device', 'version']).where('tenant_id', '=', tenantId).executeTakeFirst();
}

export function upsertTenantMfaPolicy(tx: Tx, policy: { tenant_id: string; required: 'off' | 'admins' | 'all'; new_device: boolean; updated_by: string | null }) {
  return tx
    .insertInto('tenant_mfa_policy')
    .values(policy)
    .onConflict((conflict) =>
      conflict.column('tenant_id').doUpdateSet((eb) => ({
        required: policy.required,
        new_device: policy.new_device,
        updated_by: policy.updated_by,
        updated_at: new Date(),
        version: eb('tenant_mfa_policy.version', '+', 1),
      })),
    )
    .returning(['required', 'new_device', 'version'])
    .executeTakeFirstOrThrow();
}

