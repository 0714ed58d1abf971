import { useState, type FormEvent } from 'react';
import { requestPasswordReset } from '../api';
import { PageHeading, Status, TextField } from '../components/ui';
import { useAction } from '../components/useAction';

const SENT = 'If the address belongs to an account, a link to choose a new password is on its way. Check your email.';

/**
 * "Forgot password?" (#/forgot-password): asks for a reset link by mail. The page says the same
 * thing whatever the server did, so it never tells whether an account exists.
 */
export function ForgotPassword() {
  const { busy, run } = useAction();
  const [sent, setSent] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const email = String(data.get('email') ?? '').trim();
    const tenant = String(data.get('tenant') ?? '').trim().toLowerCase();
    await run(async () => {
      // Deliberately the same confirmation: failures must not reveal anything about the account.
      await requestPasswordReset({ email, ...(tenant ? { tenant } : {}) }).catch(() => undefined);
      setSent(true);
    });
  }

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Reset your password</PageHeading>
        <Status>{sent ? SENT : ''}</Status>
        {!sent && (
          <form className="form" onSubmit={(e) => void submit(e)}>
            <p className="intro">Enter the email address you sign in with. We will send you a link to choose a new password.</p>
            <TextField
              label="Email"
              name="email"
              type="email"
              autoComplete="username"
              inputMode="email"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={320}
            />
            <TextField
              label="Organization"
              name="tenant"
              optional
              autoComplete="organization"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={63}
              hint="Your organization’s short name, for example “acme”. Leave blank if you are a platform operator."
            />
            <button type="submit" className="button button--primary button--block" aria-disabled={busy || undefined}>
              {busy ? 'Sending…' : 'Send reset link'}
            </button>
          </form>
        )}
        <p className="form-footer">
          <a href="#/login">Back to sign in</a>
        </p>
      </div>
    </main>
  );
}
