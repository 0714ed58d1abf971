import { useId, useState, type FormEvent } from 'react';
import { verificationApi, type CodeChannel, type Me } from '../api';
import { ErrorAlert, SelectField, Status, TextField } from './ui';
import { useAction } from './useAction';

const CHANNELS = [
  { value: 'sms', label: 'Text message (SMS)' },
  { value: 'whatsapp', label: 'WhatsApp' },
  { value: 'email', label: 'Email' },
];

/**
 * Adds, changes and verifies the user's phone number with a 6-digit code (FR-VER-002): on the
 * Account page, and in the verification panel when the organization requires it.
 */
export function PhoneVerification({ me, onVerified, headingLevel = 2 }: { me: Me; onVerified: () => Promise<void>; headingLevel?: 2 | 3 }) {
  const [current, setCurrent] = useState({ phone: me.phone, verified: me.phone_verified });
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const [status, setStatus] = useState('');
  const headingId = useId();
  const Heading = headingLevel === 2 ? 'h2' : 'h3';

  function sendCode(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    void run(async () => {
      const sent = await verificationApi.setPhone(String(data.get('phone') ?? ''), String(data.get('channel') ?? 'sms') as CodeChannel);
      setSentTo(sent.phone);
      setCurrent({ phone: sent.phone, verified: false });
      setStatus(`A code was sent. It works for ${Math.round(sent.expires_in / 60)} minutes.`);
    });
  }

  function verify(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code') ?? '').trim();
    void run(async () => {
      await verificationApi.verifyPhone(code);
      setSentTo(null);
      setCurrent((was) => ({ ...was, verified: true }));
      setStatus('Your phone number is verified.');
      await onVerified();
    });
  }

  return (
    <section className="panel account-section" aria-labelledby={headingId}>
      <Heading id={headingId} className="section-title">
        Phone number
      </Heading>
      <p className="muted">
        {current.phone ? (
          <>
            {current.phone} — {current.verified ? 'verified' : 'not verified yet'}
          </>
        ) : (
          'No phone number yet.'
        )}
        {me.phone_required && ' Your organization requires a verified phone number.'}
      </p>
      <Status>{status}</Status>
      <ErrorAlert error={error} />
      {sentTo ? (
        <form className="form" onSubmit={verify}>
          <TextField label={`Code sent for ${sentTo}`} name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} hint="6 digits" />
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Checking…' : 'Verify number'}
            </button>
            <button type="button" className="button" onClick={() => setSentTo(null)}>
              Use another number
            </button>
          </div>
        </form>
      ) : (
        <form className="form" onSubmit={sendCode}>
          <TextField label="Phone number" name="phone" type="tel" autoComplete="tel" defaultValue={current.phone ?? ''} hint="In international form, e.g. +14155550123" />
          <SelectField label="Send the code by" name="channel" options={CHANNELS} defaultValue="sms" />
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Sending…' : 'Send a code'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
