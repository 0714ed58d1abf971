import { useId, useState, type FormEvent } from 'react';
import { verificationApi, type Me } from '../api';
import { ErrorAlert, Status, TextField } from './ui';
import { PhoneVerification } from './PhoneVerification';
import { useAction } from './useAction';

/**
 * Shown to a signed-in user who must verify something first (FR-VER-001, FR-VER-002): every other
 * screen answers "not verified" until then. Email: send the mail again or enter its code; phone:
 * add the number and enter the code.
 */
export function VerificationBanner({ me, onVerified }: { me: Me; onVerified: () => Promise<void> }) {
  const headingId = useId();
  const { busy, error, run } = useAction();
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

  const resend = () =>
    run(async () => {
      await verificationApi.sendEmail();
      setStatus(`We sent a new email to ${me.email}.`);
    });

  function confirm(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code') ?? '').trim();
    void run(async () => {
      await verificationApi.confirmEmailCode(code);
      setStatus('Your email address is verified.');
      await onVerified();
    });
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
      <form className="form" onSubmit={confirm}>
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
