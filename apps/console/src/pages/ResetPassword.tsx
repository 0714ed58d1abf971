import { useRef, useState, type FormEvent } from 'react';
import { confirmPasswordReset, InputError, ProblemError } from '../api';
import { hashParams } from '../screens';
import { ErrorAlert, PageHeading, Status } from '../components/ui';
import { NewPasswordFields, PasswordAlert } from '../components/PasswordAlert';
import { useAction } from '../components/useAction';

/**
 * The page a reset email links to (#/reset-password?token=…): the user chooses a new password.
 * A password the policy refuses lists the rules it breaks; a used or expired link says so and
 * offers to send a new one.
 */
export function ResetPassword() {
  const [token] = useState(() => hashParams().get('token') ?? '');
  const { busy, error, setError, run } = useAction();
  const [done, setDone] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);
  const linkInvalid = error instanceof ProblemError && error.status === 410;

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const password = String(data.get('password') ?? '');
    if (password !== String(data.get('confirm') ?? '')) {
      setError(new InputError('The two passwords differ. Type the same password twice.'));
      passwordRef.current?.focus();
      return;
    }
    await run(
      async () => {
        await confirmPasswordReset({ token, new_password: password });
        setDone(true);
      },
      () => passwordRef.current?.focus(),
    );
  }

  let body;
  if (!token) {
    body = (
      <>
        <ErrorAlert error={new InputError('This link has no reset token. Open the link from your email again, or ask for a new one.')} />
        <p>
          <a href="#/forgot-password">Ask for a new reset link</a>
        </p>
      </>
    );
  } else if (done) {
    body = (
      <>
        <Status>Your password has been changed.</Status>
        <p>
          <a className="button button--primary button--block" href="#/login">
            Sign in with your new password
          </a>
        </p>
      </>
    );
  } else if (linkInvalid) {
    body = (
      <>
        <ErrorAlert error={new InputError('This reset link has expired or has already been used.')} />
        <p>
          <a href="#/forgot-password">Ask for a new reset link</a>
        </p>
      </>
    );
  } else {
    body = (
      <form className="form" onSubmit={(e) => void submit(e)}>
        <PasswordAlert error={error} />
        <NewPasswordFields name="password" label="New password" confirmLabel="Repeat the new password" inputRef={passwordRef} invalid={Boolean(error)} />
        <button type="submit" className="button button--primary button--block" aria-disabled={busy || undefined}>
          {busy ? 'Saving…' : 'Set new password'}
        </button>
      </form>
    );
  }

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Choose a new password</PageHeading>
        {body}
      </div>
    </main>
  );
}
