import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../../kernel/config.ts';

/** WebAuthn ceremonies (passkeys and security keys), relying party from WEBAUTHN_RP_ID / WEBAUTHN_ORIGINS. */
export const WEBAUTHN_TIMEOUT_MS = 5 * 60_000;

export interface StoredCredential {
  credential_id: string | null;
  public_key: string | null;
  sign_count: number | string;
  transports: string[];
}

type Transport = NonNullable<RegistrationResponseJSON['response']['transports']>[number];

export function registrationOptions(config: Config, user: { id: string; email: string }, existing: StoredCredential[]) {
  return generateRegistrationOptions({
    rpName: config.webauthn.rpName,
    rpID: config.webauthn.rpId,
    userName: user.email,
    userID: new TextEncoder().encode(user.id),
    timeout: WEBAUTHN_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.filter((c) => c.credential_id).map((c) => ({ id: c.credential_id!, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

export async function verifyRegistration(config: Config, response: RegistrationResponseJSON, expectedChallenge: string) {
  const verified = await verifyRegistrationResponse({
    response,
    expectedChallenge,
    expectedOrigin: config.webauthn.origins,
    expectedRPID: config.webauthn.rpId,
    requireUserVerification: false,
  });
  if (!verified.verified) return null;
  const { credential } = verified.registrationInfo;
  return {
    credentialId: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    signCount: credential.counter,
    transports: (credential.transports ?? response.response.transports ?? []) as string[],
  };
}

export function authenticationOptions(config: Config, credentials: StoredCredential[]) {
  return generateAuthenticationOptions({
    rpID: config.webauthn.rpId,
    timeout: WEBAUTHN_TIMEOUT_MS,
    userVerification: 'preferred',
    allowCredentials: credentials.filter((c) => c.credential_id).map((c) => ({ id: c.credential_id!, transports: c.transports })),
  });
}

/**
 * Verifies an assertion with a stored credential; the signature counter must grow (or stay 0 for
 * authenticators without one), else the credential may have been cloned. Returns the new counter.
 */
export async function verifyAuthentication(config: Config, response: AuthenticationResponseJSON, expectedChallenge: string, stored: StoredCredential): Promise<number | null> {
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.webauthn.origins,
      expectedRPID: config.webauthn.rpId,
      requireUserVerification: false,
      credential: {
        id: stored.credential_id!,
        publicKey: new Uint8Array(Buffer.from(stored.public_key!, 'base64url')),
        counter: Number(stored.sign_count),
        transports: stored.transports as Transport[],
      },
    });
    return verified.verified ? verified.authenticationInfo.newCounter : null;
  } catch {
    // A malformed response, a wrong origin, challenge or signature, or a counter that went back.
    return null;
  }
}

/** The challenge a WebAuthn response answers, read from its client data (verified afterwards). */
export function answeredChallenge(response: { response?: { clientDataJSON?: unknown } }): string | null {
  try {
    const raw = response.response?.clientDataJSON;
    if (typeof raw !== 'string') return null;
    const data = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' ? data.challenge : null;
  } catch {
    return null;
  }
}
