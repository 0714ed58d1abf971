import { useId, useRef, useState, type FormEvent } from 'react';
import { api, login, mfaChallengeOf, type Me, type MfaChallenge } from '../api';
import { ErrorAlert, PageHeading, Status } from '../components/ui';
import { MfaSignIn } from '../components/MfaSignIn';
import { SsoSignIn } from '../components/SsoSignIn';
import { useAction } from '../components/useAction';

export function Login({
  onSignedIn,
  notice,
  initialError,
}: {
  onSignedIn: (me: Me) => void;
  notice: string;
  initialError?: unknown;
}) {
  const action = useAction();
  /** An error from before this form was sent: reading who is signed in, or a second-factor step that ran out. */
  const [shownError, setShownError] = useState<unknown>(initialError ?? null);
  const error = action.error ?? shownError;
  const busy = action.busy;
  /** Set when the password was right and a second factor is due (ERR-AUTH-461). */
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const ids = { email: useId(), password: useId(), org: useId(), orgHint: useId() };
  /** The organization typed so far: the page offers its single sign-on when it has one. */
  const [organization, setOrganization] = useState('');

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const email = String(data.get('email') ?? '').trim();
    const password = String(data.get('password') ?? '');
    const tenant = String(data.get('tenant') ?? '').trim().toLowerCase();
    setShownError(null);
    await action.run(
      async () => {
        try {
          await login(email, password, tenant || undefined);
        } catch (err) {
          const due = mfaChallengeOf(err);
          if (!due) throw err;
          setChallenge(due);
          return;
        }
        onSignedIn(await api.me());
      },
      () => {
        // Let the user retype the password straight away; the alert announces what went wrong.
        passwordRef.current?.focus();
        passwordRef.current?.select();
      },
    );
  }

  if (challenge) {
    return (
      <main id="main" className="main main--narrow">
        <div className="panel">
          <MfaSignIn
            challenge={challenge}
            onSignedIn={async () => onSignedIn(await api.me())}
            onCancel={() => setChallenge(null)}
            onSpent={(err) => {
              setChallenge(null);
              setShownError(err);
            }}
          />
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Sign in</PageHeading>
        <Status>{notice}</Status>
        <form className="form" onSubmit={onSubmit}>
          <ErrorAlert error={error} />
          <div className="field">
            <label htmlFor={ids.email}>Email</label>
            <input
              id={ids.email}
              name="email"
              type="email"
              autoComplete="username"
              inputMode="email"
              autoCapitalize="none"
              spellCheck={false}
              required
              aria-invalid={error ? true : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              ref={passwordRef}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              aria-invalid={error ? true : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.org}>
              Organization <span className="optional">(optional)</span>
            </label>
            <input
              id={ids.org}
              name="tenant"
              type="text"
              autoComplete="organization"
              autoCapitalize="none"
              spellCheck={false}
              aria-describedby={ids.orgHint}
              onChange={(e) => setOrganization(e.currentTarget.value.trim().toLowerCase())}
            />
            <p id={ids.orgHint} className="hint">
              Your organization’s short name, for example “acme”. Leave blank if you are a platform operator.
            </p>
          </div>
          <button type="submit" className="button button--primary button--block" aria-disabled={busy || undefined}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <SsoSignIn organization={organization} />
        <p className="form-footer">
          <a href="#/forgot-password">Forgot password?</a>
        </p>
      </div>
    </main>
  );
}
