import { useRef, useState, type FormEvent } from 'react';
import { acceptInvitation, InputError, mfaChallengeOf, type MfaChallenge } from '../api';
import { hashParams, navigate } from '../screens';
import { ErrorAlert, PageHeading, TextField } from '../components/ui';
import { MfaSignIn } from '../components/MfaSignIn';
import { NewPasswordFields } from '../components/PasswordAlert';
import { useAction } from '../components/useAction';

/**
 * The page the invitation email links to (#/accept-invitation?token=…): the invited person
 * chooses a password (and a name); the account is created and signed in.
 */
export function AcceptInvitation({ onAccepted }: { onAccepted: () => Promise<void> }) {
  const [token] = useState(() => hashParams().get('token') ?? '');
  const { busy, error, setError, run } = useAction();
  /** The organization requires two-step verification: the new account sets it up before signing in. */
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const name = String(data.get('name') ?? '').trim();
    const password = String(data.get('password') ?? '');
    const confirm = String(data.get('confirm') ?? '');
    if (password !== confirm) {
      setError(new InputError('The two passwords differ. Type the same password twice.'));
      passwordRef.current?.focus();
      return;
    }
    await run(
      async () => {
        try {
          await acceptInvitation({ token, password, ...(name ? { name } : {}) });
        } catch (err) {
          const due = mfaChallengeOf(err);
          if (!due) throw err;
          setChallenge(due);
          return;
        }
        await onAccepted();
      },
      () => passwordRef.current?.focus(),
    );
  }

  if (challenge) {
    // The account exists now; if this step is abandoned, signing in leads back to it.
    const toSignIn = () => navigate('login');
    return (
      <main id="main" className="main main--narrow">
        <div className="panel">
          <MfaSignIn challenge={challenge} onSignedIn={onAccepted} onCancel={toSignIn} onSpent={toSignIn} />
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Accept invitation</PageHeading>
        {token ? (
          <form className="form" onSubmit={(e) => void submit(e)}>
            <p className="intro">You have been invited to an organization. Choose a password to create your account.</p>
            <ErrorAlert error={error} />
            <TextField label="Your name" name="name" optional autoComplete="name" maxLength={200} />
            <NewPasswordFields name="password" label="Password" confirmLabel="Repeat the password" inputRef={passwordRef} invalid={Boolean(error)} minLength={12} />
            <button type="submit" className="button button--primary button--block" aria-disabled={busy || undefined}>
              {busy ? 'Creating your account…' : 'Create account'}
            </button>
          </form>
        ) : (
          <>
            <ErrorAlert error={new InputError('This link has no invitation token. Open the link from your invitation email again.')} />
            <p>
              <a href="#/login">Go to sign in</a>
            </p>
          </>
        )}
      </div>
    </main>
  );
}
