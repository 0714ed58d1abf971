import { useId, useState, type FormEvent } from 'react';
import { verificationApi, type Me } from '../api';
import { ErrorAlert, Status, TextField } from './ui';
import { PhoneVerification } from './PhoneVerification';

/**
 * Shown to a signed-in user who must verify something first (FR-VER-001, FR-VER-002): every other
 * screen answers "not verified" until then. Email: send the mail again or enter its code; phone:
 * add the number and enter the code.
 */
export function VerificationBanner({ me, onVerified }: { me: Me; onVerified: () => Promise<void> }) {
  const headingId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');

  if (me.verification_required === 'phone') {
    return (
      <section className="panel account-section" aria-labelledby={headingId} data-testid="verification-banner">
        <h2 id={headingId} className="section-title">
          Verify your phone number
        </h2>
        <p>Your organization requires a verified phone number before you can use the console.</p>
        <PhoneVerification me={me} onVerified={onVerified} headingLevel={3} />
      </section>
    );
  }

  async function resend() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await verificationApi.sendEmail();
      setStatus(`We sent a new email to ${me.email}.`);
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }

  async function confirm(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const code = String(new FormData(e.currentTarget).get('code') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      await verificationApi.confirmEmailCode(code);
      setStatus('Your email address is verified.');
      await onVerified();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }

  return (
    <section className="panel account-section" aria-labelledby={headingId} data-testid="verification-banner">
      <h2 id={headingId} className="section-title">
        Verify your email address
      </h2>
      <p>
        Open the link in the email we sent to <strong>{me.email}</strong>, or enter the code from it. Until then, the console shows nothing
        else.
      </p>
      <Status>{status}</Status>
      <ErrorAlert error={error} />
      <form className="form" onSubmit={(e) => void confirm(e)}>
        <TextField label="Code from the email" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} hint="6 digits" />
        <div className="actions">
          <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
            Verify
          </button>
          <button type="button" className="button" onClick={() => void resend()} aria-disabled={busy || undefined}>
            Send the email again
          </button>
        </div>
      </form>
    </section>
  );
}
