import { browserSupportsWebAuthn, startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { toDataURL } from 'qrcode';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { InputError, webauthnJson, type MfaMethod, type SecondFactor, type TotpEnrolment } from '../api';
import { ErrorAlert } from './ui';
import { useAction } from './useAction';

/** A 6-digit code as authenticator apps show it; spaces are forgiven. */
export function readTotpCode(value: FormDataEntryValue | null): string {
  const code = String(value ?? '').replace(/\s/g, '');
  if (!/^\d{6}$/.test(code)) throw new InputError('Enter the 6-digit code from your authenticator app.');
  return code;
}

/**
 * Asks for one second factor: a code from the authenticator app, a recovery code instead, or a
 * passkey. Used at sign-in and for step-up.
 */
export function SecondFactorForm({
  methods,
  submitLabel,
  onSubmit,
  passkeyOptions,
  onCancel,
}: {
  methods: MfaMethod[];
  submitLabel: string;
  onSubmit: (factor: SecondFactor) => Promise<void>;
  passkeyOptions: () => Promise<unknown>;
  onCancel?: () => void;
}) {
  const passkeys = methods.includes('webauthn') && browserSupportsWebAuthn();
  const primary = methods.includes('totp') ? 'totp' : passkeys ? 'passkey' : 'recovery_code';
  const [mode, setMode] = useState<'totp' | 'passkey' | 'recovery_code'>(primary);
  const { busy, error, run: runAction } = useAction();
  const inputRef = useRef<HTMLInputElement>(null);
  const ids = { code: useId(), hint: useId() };

  useEffect(() => {
    inputRef.current?.focus();
  }, [mode]);

  const run = (factor: () => Promise<SecondFactor>) =>
    runAction(
      async () => onSubmit(await factor()),
      () => {
        inputRef.current?.focus();
        inputRef.current?.select();
      },
    );

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const value = new FormData(e.currentTarget).get('code');
    void run(async () => (mode === 'totp' ? { totp_code: readTotpCode(value) } : { recovery_code: String(value ?? '').trim() }));
  }

  const usePasskey = () =>
    run(async () => ({ webauthn: webauthnJson(await startAuthentication({ optionsJSON: (await passkeyOptions()) as PublicKeyCredentialRequestOptionsJSON })) }));

  return (
    <form className="form" onSubmit={submit} noValidate>
      <ErrorAlert error={error} />
      {mode !== 'passkey' && (
        <div className="field">
          <label htmlFor={ids.code}>{mode === 'totp' ? 'Code from your authenticator app' : 'Recovery code'}</label>
          <input
            key={mode}
            id={ids.code}
            ref={inputRef}
            name="code"
            type="text"
            autoComplete="one-time-code"
            inputMode={mode === 'totp' ? 'numeric' : 'text'}
            autoCapitalize="characters"
            spellCheck={false}
            maxLength={mode === 'totp' ? 7 : 20}
            required
            aria-describedby={ids.hint}
            aria-invalid={error ? true : undefined}
          />
          <p id={ids.hint} className="hint">
            {mode === 'totp' ? 'Six digits; a new one appears every 30 seconds.' : 'One of the codes you saved when you set up two-step verification, e.g. ABCDE-FGHJK. Each works once.'}
          </p>
        </div>
      )}
      <div className="actions">
        {mode !== 'passkey' && (
          <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
            {busy ? 'Checking…' : submitLabel}
          </button>
        )}
        {passkeys && (
          <button type="button" className={mode === 'passkey' ? 'button button--primary' : 'button'} aria-disabled={busy || undefined} onClick={() => void usePasskey()}>
            {busy && mode === 'passkey' ? 'Waiting for the passkey…' : 'Use a passkey'}
          </button>
        )}
        {onCancel && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {methods.includes('recovery_code') && (mode !== 'recovery_code' || primary !== 'recovery_code') && (
        <p className="form-footer">
          <button type="button" className="link-button" onClick={() => setMode(mode === 'recovery_code' ? primary : 'recovery_code')}>
            {mode !== 'recovery_code' ? 'Use a recovery code' : primary === 'totp' ? 'Use the authenticator app' : 'Use a passkey instead'}
          </button>
        </p>
      )}
    </form>
  );
}

/** The secret of a new authenticator app as a QR code and as text, for typing it in. */
export function TotpSetup({ enrolment }: { enrolment: TotpEnrolment }) {
  const [qr, setQr] = useState<string | null>(null);
  const secretId = useId();
  useEffect(() => {
    let cancelled = false;
    void toDataURL(enrolment.otpauth_uri, { margin: 1, width: 200 }).then((url) => {
      if (!cancelled) setQr(url);
    });
    return () => {
      cancelled = true;
    };
  }, [enrolment.otpauth_uri]);
  // Groups of four are easier to type; apps ignore the spaces.
  const grouped = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
  return (
    <div className="totp-setup">
      <p>Scan this QR code with your authenticator app, or type the key below into it.</p>
      {qr && <img className="totp-setup__qr" src={qr} width={200} height={200} alt="QR code of the key for your authenticator app" />}
      <p>
        <span id={secretId}>Key: </span>
        <code className="totp-setup__secret" aria-labelledby={secretId} data-secret={enrolment.secret}>
          {grouped}
        </code>
      </p>
    </div>
  );
}

/** Recovery codes, shown once, with a way to copy them. */
export function RecoveryCodes({ codes, onDone, doneLabel = 'I have saved these codes' }: { codes: string[]; onDone: () => void; doneLabel?: string }) {
  const headingId = useId();
  const [copied, setCopied] = useState('');
  async function copy() {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not available here: write the codes down.');
    }
  }
  return (
    <section className="recovery-codes" aria-labelledby={headingId}>
      <h3 id={headingId} className="subsection-title">
        Your recovery codes
      </h3>
      <p>
        Each code signs you in once if you lose your authenticator. Keep them somewhere safe: <strong>they are shown only now</strong>.
      </p>
      <ol className="recovery-codes__list">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p role="status" className="status">
        {copied}
      </p>
      <div className="actions">
        <button type="button" className="button" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" className="button button--primary" onClick={onDone}>
          {doneLabel}
        </button>
      </div>
    </section>
  );
}
