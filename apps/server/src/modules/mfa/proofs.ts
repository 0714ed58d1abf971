import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Config } from '../../kernel/config.ts';
import type { SecretBox } from '../../kernel/crypto/secret-box.ts';
import type { Tx } from '../../kernel/db/database.ts';
import { activeTotpFactors, claimTotpStep, unusedRecoveryCodes, updateSignCount, useRecoveryCode, webauthnCredentials } from './mfa.queries.ts';
import { matchRecoveryCode } from './recovery-codes.ts';
import { openTotpSecret, verifyTotp } from './totp.ts';
import { answeredChallenge, verifyAuthentication } from './webauthn.ts';

/** What a caller presents as a second factor: exactly one of them. */
export interface SecondFactorProof {
  totp_code?: string | undefined;
  recovery_code?: string | undefined;
  webauthn?: AuthenticationResponseJSON | undefined;
}

export type ProofOutcome =
  | { ok: true; method: 'totp' | 'recovery_code' | 'webauthn'; amr: 'otp' | 'hwk'; factorId: string | null }
  | { ok: false; reason: 'bad_code' | 'replay' | 'bad_webauthn' | 'no_factor' };

export const proofCount = (proof: SecondFactorProof) => [proof.totp_code, proof.recovery_code, proof.webauthn].filter((p) => p !== undefined).length;

/**
 * Checks a second factor of the user in the transaction's context and spends it: a TOTP step is
 * recorded (a code is accepted once), a recovery code is used up, a WebAuthn counter moves on.
 * `webauthnChallenge` is the challenge the server issued for this ceremony (null: none was).
 */
export async function proveSecondFactor(
  tx: Tx,
  keys: { config: Config; secrets: SecretBox },
  userId: string,
  proof: SecondFactorProof,
  webauthnChallenge: string | null,
): Promise<ProofOutcome> {
  const { config, secrets } = keys;
  if (proof.totp_code !== undefined) {
    const factors = await activeTotpFactors(tx, userId);
    if (factors.length === 0) return { ok: false, reason: 'no_factor' };
    let replayed = false;
    for (const factor of factors) {
      const secret = openTotpSecret(secrets, userId, factor.secret!);
      if ((await verifyTotp(secret, proof.totp_code, null)) === null) continue;
      const step = await verifyTotp(secret, proof.totp_code, factor.last_used_step);
      if (step !== null && (await claimTotpStep(tx, factor.id, step))) return { ok: true, method: 'totp', amr: 'otp', factorId: factor.id };
      replayed = true;
    }
    return { ok: false, reason: replayed ? 'replay' : 'bad_code' };
  }
  if (proof.recovery_code !== undefined) {
    const match = matchRecoveryCode(await unusedRecoveryCodes(tx, userId), proof.recovery_code);
    if (match && (await useRecoveryCode(tx, match.id))) return { ok: true, method: 'recovery_code', amr: 'otp', factorId: null };
    return { ok: false, reason: 'bad_code' };
  }
  if (proof.webauthn !== undefined) {
    const credentials = (await webauthnCredentials(tx, userId)).filter((c) => c.status === 'active');
    const stored = credentials.find((c) => c.credential_id === proof.webauthn!.id);
    if (!stored || webauthnChallenge === null || answeredChallenge(proof.webauthn) !== webauthnChallenge) return { ok: false, reason: 'bad_webauthn' };
    const counter = await verifyAuthentication(config, proof.webauthn, webauthnChallenge, stored);
    if (counter === null) return { ok: false, reason: 'bad_webauthn' };
    await updateSignCount(tx, stored.id, counter);
    return { ok: true, method: 'webauthn', amr: 'hwk', factorId: stored.id };
  }
  return { ok: false, reason: 'bad_code' };
}
