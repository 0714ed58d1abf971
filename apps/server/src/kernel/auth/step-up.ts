import type { Actor } from '../context.ts';
import { AppError } from '../errors.ts';

/**
 * Whether the caller proved a second factor within the last maxAgeSeconds (FR-AUTH-014): the
 * access token says `mfa` in amr and when, in mfa_at.
 */
export function recentSecondFactor(actor: Actor, maxAgeSeconds: number, now = Date.now()): boolean {
  return actor.amr.includes('mfa') && typeof actor.mfaAt === 'number' && now / 1000 - actor.mfaAt <= maxAgeSeconds;
}

/** The answer to an action that needs a second factor proven within `maxAgeSeconds` (FR-AUTH-014). */
export function stepUpRequired(maxAgeSeconds: number): AppError {
  return new AppError('step-up-required', `This action needs a second factor proven in the last ${Math.round(maxAgeSeconds / 60)} minutes: POST /v1/auth/step-up.`, {
    max_age_seconds: maxAgeSeconds,
  });
}
