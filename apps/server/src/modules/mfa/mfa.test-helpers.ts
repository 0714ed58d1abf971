import type { TestPlatform } from '../../../test/helpers.ts';

/** Marks a test user's address verified (FR-VER-001), so every route answers it. */
export async function verifiedEmail(t: TestPlatform, email: string): Promise<void> {
  await t.db.ownerExecute('update users set email_verified_at = coalesce(email_verified_at, now()) where email = $1', [email]);
}
