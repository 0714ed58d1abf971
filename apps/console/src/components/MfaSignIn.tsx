import { useId, useState, type FormEvent } from 'react';
import { enrolTotpAtSignIn, problemOf, mfaWebauthnOptions, verifyMfa, type MfaChallenge, type TotpEnrolment } from '../api';
import { ErrorAlert, PageHeading } from './ui';
import { readTotpCode, RecoveryCodes, SecondFactorForm, TotpSetup } from './MfaParts';
import { useAction } from './useAction';

/** The challenge can no longer be answered (expired, used up): the sign-in starts over. */
function isSpent(err: unknown): boolean {
  const problem = problemOf(err);
  return problem?.type === '/problems/mfa-challenge-invalid' || (problem?.type === '/problems/mfa-code-invalid' && problem.attempts_left === 0);
}

/**
 * The second step of a sign-in (ERR-AUTH-461): a code, a recovery code or a passkey; or, when the
 * organization requires two-step verification of a user who has none, setting up an app first.
 */
export function MfaSignIn({
  challenge,
  onSignedIn,
  onCancel,
  onSpent,
}: {
  challenge: MfaChallenge;
  onSignedIn: () => Promise<void>;
  onCancel: () => void;
  /** The challenge expired or ran out of attempts: back to the password, with this error. */
  onSpent: (err: unknown) => void;
}) {
  const [codes, setCodes] = useState<string[] | null>(null);

  if (codes) {
    return (
      <>
        <PageHeading>Two-step verification is on</PageHeading>
        <RecoveryCodes codes={codes} onDone={() => void onSignedIn()} doneLabel="Continue" />
      </>
    );
  }
  if (challenge.enrollment_required) {
    return <EnrolAtSignIn challenge={challenge} onEnrolled={async (recovery) => (recovery ? setCodes(recovery) : onSignedIn())} onCancel={onCancel} />;
  }
  return (
    <>
      <PageHeading>Two-step verification</PageHeading>
      <p className="intro">Confirm it is you with your second factor.</p>
      <SecondFactorForm
        methods={challenge.methods}
        submitLabel="Verify"
        passkeyOptions={() => mfaWebauthnOptions(challenge.challenge_token)}
        onSubmit={async (factor) => {
          try {
            await verifyMfa(challenge.challenge_token, factor);
          } catch (err) {
            if (!isSpent(err)) throw err;
            onSpent(err);
            return;
          }
          await onSignedIn();
        }}
        onCancel={onCancel}
      />
    </>
  );
}

function EnrolAtSignIn({
  challenge,
  onEnrolled,
  onCancel,
}: {
  challenge: MfaChallenge;
  onEnrolled: (recoveryCodes: string[] | undefined) => Promise<void>;
  onCancel: () => void;
}) {
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const { busy, error, run } = useAction();
  const codeId = useId();

  const start = () => run(async () => setEnrolment(await enrolTotpAtSignIn(challenge.challenge_token)));

  function confirm(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const value = new FormData(e.currentTarget).get('code');
    void run(async () => {
      const { recovery_codes } = await verifyMfa(challenge.challenge_token, { totp_code: readTotpCode(value) });
      await onEnrolled(recovery_codes);
    });
  }

  return (
    <>
      <PageHeading>Set up two-step verification</PageHeading>
      <p className="intro">Your organization requires a second factor at sign-in. Set up an authenticator app to continue.</p>
      <ErrorAlert error={error} />
      {!enrolment ? (
        <div className="actions">
          <button type="button" className="button button--primary" aria-disabled={busy || undefined} onClick={() => void start()}>
            {busy ? 'Preparing…' : 'Set up an authenticator app'}
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      ) : (
        <form className="form" onSubmit={confirm} noValidate>
          <TotpSetup enrolment={enrolment} />
          <div className="field">
            <label htmlFor={codeId}>Code from your authenticator app</label>
            <input id={codeId} name="code" type="text" inputMode="numeric" autoComplete="one-time-code" maxLength={7} required aria-invalid={error ? true : undefined} />
          </div>
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Checking…' : 'Confirm and sign in'}
            </button>
          </div>
        </form>
      )}
    </>
  );
}
