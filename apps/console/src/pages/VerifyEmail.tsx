import { useEffect, useRef, useState } from 'react';
import { confirmEmailLink, hasSession, InputError, ProblemError } from '../api';
import { hashParams } from '../screens';
import { ErrorAlert, PageHeading, Status } from '../components/ui';

/**
 * The page a verification email links to (#/verify-email?token=…): it confirms the link at once.
 * A used or expired link says so and tells how to get a new one (FR-VER-001).
 */
export function VerifyEmail({ onVerified }: { onVerified: () => Promise<void> }) {
  const [token] = useState(() => hashParams().get('token') ?? '');
  const [state, setState] = useState<'checking' | 'verified' | 'invalid' | 'failed'>(token ? 'checking' : 'invalid');
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    // Once: the link is single use, and StrictMode runs effects twice in development.
    if (!token || started.current) return;
    started.current = true;
    confirmEmailLink(token).then(
      () => setState('verified'),
      (err: unknown) => {
        setError(err);
        setState(err instanceof ProblemError && err.status === 410 ? 'invalid' : 'failed');
      },
    );
  }, [token]);

  let body;
  if (state === 'checking') {
    body = <Status>Checking the link…</Status>;
  } else if (state === 'verified') {
    body = (
      <>
        <Status>Your email address is verified.</Status>
        <p>
          {hasSession() ? (
            <button type="button" className="button button--primary button--block" onClick={() => void onVerified()}>
              Continue to the console
            </button>
          ) : (
            <a className="button button--primary button--block" href="#/login">
              Sign in
            </a>
          )}
        </p>
      </>
    );
  } else if (state === 'invalid') {
    body = (
      <>
        <ErrorAlert error={new InputError('This verification link has expired or has already been used.')} />
        <p>Sign in and choose “Send the email again” to get a new link and code. A link works once, for 30 minutes.</p>
        <p>
          <a href="#/login">Sign in</a>
        </p>
      </>
    );
  } else {
    body = <ErrorAlert error={error} />;
  }

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Verify your email address</PageHeading>
        {body}
      </div>
    </main>
  );
}
