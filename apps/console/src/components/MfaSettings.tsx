import { browserSupportsWebAuthn, startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { mfaApi, webauthnJson, type MfaFactor, type TotpEnrolment } from '../api';
import { ConfirmDialog, DateTime, ErrorAlert, None, Status } from './ui';
import { readTotpCode, RecoveryCodes, TotpSetup } from './MfaParts';
import { useAction } from './useAction';

const KIND_LABELS = { totp: 'Authenticator app', webauthn: 'Passkey' } as const;

/**
 * The Account page's two-step verification section (NFR-SEC-003): set up an authenticator app
 * (QR code and key), add passkeys, remove factors and replace recovery codes. Changing the factors
 * of an account that has one asks for a second factor first (the step-up dialog).
 */
export function MfaSettings({ disabled }: { disabled: boolean }) {
  const [factors, setFactors] = useState<MfaFactor[]>([]);
  const [remaining, setRemaining] = useState(0);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const action = useAction();
  const busy = action.busy;
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [removing, setRemoving] = useState<MfaFactor | null>(null);
  const [passkeyName, setPasskeyName] = useState('');
  const headingRef = useRef<HTMLHeadingElement>(null);
  const ids = { heading: useId(), code: useId(), passkey: useId(), passkeyHint: useId() };

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const state = await mfaApi.status();
      setFactors(state.factors.filter((f) => f.status === 'active'));
      setRemaining(state.recovery_codes_remaining);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
    setLoading(false);
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  function act(work: () => Promise<void>) {
    if (busy) return Promise.resolve(false);
    setStatus('');
    return action.run(work);
  }

  const startTotp = () => act(async () => setEnrolment(await mfaApi.startTotp()));

  function confirmTotp(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const value = new FormData(e.currentTarget).get('code');
    void act(async () => {
      const result = await mfaApi.confirmTotp(enrolment!.factor_id, readTotpCode(value));
      setEnrolment(null);
      setStatus('The authenticator app is set up.');
      if (result.recovery_codes) setCodes(result.recovery_codes);
      await load();
    });
  }

  const addPasskey = () =>
    act(async () => {
      const options = (await mfaApi.passkeyOptions()) as PublicKeyCredentialCreationOptionsJSON;
      const response = await startRegistration({ optionsJSON: options });
      const result = await mfaApi.registerPasskey(passkeyName.trim() || 'Passkey', webauthnJson(response));
      setPasskeyName('');
      setStatus(`The passkey “${result.factor.name}” is added.`);
      if (result.recovery_codes) setCodes(result.recovery_codes);
      await load();
    });

  const regenerate = () =>
    act(async () => {
      setCodes((await mfaApi.regenerateRecoveryCodes()).recovery_codes);
      setStatus('New recovery codes replace the old ones.');
      await load();
    });

  async function remove() {
    const factor = removing!;
    await act(async () => {
      await mfaApi.removeFactor(factor.id);
      setStatus(`${factor.name} is removed.`);
      await load();
    });
    setRemoving(null);
    headingRef.current?.focus();
  }

  const enrolled = factors.length > 0;

  return (
    <section className="panel account-section" aria-labelledby={ids.heading}>
      <h2 id={ids.heading} ref={headingRef} tabIndex={-1} className="section-title">
        Two-step verification
      </h2>
      {disabled ? (
        <p className="muted">Second factors cannot be changed while acting as another user.</p>
      ) : (
        <>
          <p>
            {enrolled
              ? 'Signing in asks for a second factor after your password.'
              : 'Add a second factor so that a stolen password is not enough to sign in as you.'}
          </p>
          <Status>{status}</Status>
          <ErrorAlert error={action.error ?? loadError} />
          {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
          {loading && factors.length === 0 ? (
            <p className="status">Loading…</p>
          ) : enrolled ? (
            <ul className="factor-list" aria-label="Your second factors">
              {factors.map((factor) => (
                <li key={factor.id} className="factor-list__item">
                  <span>
                    <strong>{factor.name}</strong> <span className="muted">({KIND_LABELS[factor.kind]})</span>
                    <br />
                    <span className="muted">Last used: {factor.last_used_at ? <DateTime iso={factor.last_used_at} /> : <None />}</span>
                  </span>
                  <button
                    type="button"
                    className="button button--danger"
                    aria-label={`Remove ${factor.name}`}
                    aria-disabled={busy || undefined}
                    onClick={() => setRemoving(factor)}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          ) : null}

          {enrolment ? (
            <form className="form" onSubmit={confirmTotp} noValidate>
              <TotpSetup enrolment={enrolment} />
              <div className="field">
                <label htmlFor={ids.code}>Code from your authenticator app</label>
                <input id={ids.code} name="code" type="text" inputMode="numeric" autoComplete="one-time-code" maxLength={7} required />
              </div>
              <div className="actions">
                <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
                  {busy ? 'Checking…' : 'Confirm'}
                </button>
                <button type="button" className="button" onClick={() => setEnrolment(null)}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <div className="actions">
              <button type="button" className="button button--primary" aria-disabled={busy || undefined} onClick={() => void startTotp()}>
                Set up an authenticator app
              </button>
              {enrolled && (
                <button type="button" className="button" aria-disabled={busy || undefined} onClick={() => void regenerate()}>
                  Replace recovery codes ({remaining} left)
                </button>
              )}
            </div>
          )}

          {browserSupportsWebAuthn() && !enrolment && (
            <div className="field">
              <label htmlFor={ids.passkey}>
                Passkey name <span className="optional">(optional)</span>
              </label>
              <input
                id={ids.passkey}
                type="text"
                maxLength={100}
                value={passkeyName}
                onChange={(e) => setPasskeyName(e.target.value)}
                aria-describedby={ids.passkeyHint}
              />
              <p id={ids.passkeyHint} className="hint">
                A passkey uses this device’s screen lock or a security key instead of a code.
              </p>
              <div className="actions">
                <button type="button" className="button" aria-disabled={busy || undefined} onClick={() => void addPasskey()}>
                  Add a passkey
                </button>
              </div>
            </div>
          )}
        </>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.name ?? 'factor'}?`}
        confirmLabel="Remove"
        busy={busy}
        error={null}
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(null)}
      >
        {factors.length === 1 ? 'This is your only second factor: signing in will ask for the password alone, and your recovery codes stop working.' : 'You can still sign in with your other second factors.'}
      </ConfirmDialog>
    </section>
  );
}
