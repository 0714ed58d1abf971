import { useEffect, useId, useState } from 'react';
import type { Me } from '../api';

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/**
 * FR-RBAC-005: while support staff act as a user, every screen says so, names both people and
 * when it ends, and offers to end it now. At the expiry time the session is ended here too (the
 * server already refuses the token).
 */
export function ImpersonationBanner({ me, onEnd }: { me: Me; onEnd: () => Promise<void> }) {
  const [ending, setEnding] = useState(false);
  const headingId = useId();
  const expiresAt = me.impersonation_expires_at ?? null;

  useEffect(() => {
    if (!expiresAt) return;
    const remaining = new Date(expiresAt).getTime() - Date.now();
    if (Number.isNaN(remaining)) return;
    // Timers fire at most once every 24.8 days; impersonations last 30 minutes.
    const timer = setTimeout(() => void onEnd(), Math.max(0, Math.min(remaining, 2_000_000_000)));
    return () => clearTimeout(timer);
  }, [expiresAt, onEnd]);

  async function end() {
    if (ending) return;
    setEnding(true);
    await onEnd();
  }

  const staff = me.impersonator?.email || me.impersonator?.id || 'support staff';
  const ends = expiresAt ? new Date(expiresAt) : null;
  return (
    <section className="impersonation" aria-labelledby={headingId} data-testid="impersonation-banner">
      <h2 id={headingId} className="visually-hidden">
        Impersonation
      </h2>
      <p className="impersonation__text">
        You are acting as <strong>{me.name || me.email}</strong> for <strong>{staff}</strong>
        {ends && !Number.isNaN(ends.getTime()) && (
          <>
            ; ends at <time dateTime={expiresAt ?? undefined}>{timeFormat.format(ends)}</time>
          </>
        )}
        .
      </p>
      <button type="button" className="button button--on-warning" onClick={() => void end()} aria-disabled={ending || undefined}>
        {ending ? 'Ending…' : 'End impersonation'}
      </button>
    </section>
  );
}
