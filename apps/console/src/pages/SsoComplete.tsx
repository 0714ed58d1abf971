import { useEffect, useState } from 'react';
import { exchangeSsoCode, InputError } from '../api';
import { hashParams, navigate, readRoute } from '../screens';
import { ErrorAlert, PageHeading, Status } from '../components/ui';

/** What each error code of the SSO callback means to the person signing in. */
const EXPLANATIONS: Record<string, string> = {
  state_invalid: 'This sign-in link has expired or was already used, or it was started in another browser. Start again from the sign-in page.',
  sso_unavailable: 'Single sign-on is not turned on for this organization. Sign in with your email and password, or ask your administrator.',
  idp_unavailable: 'Your identity provider cannot be reached right now. Wait a few minutes, then sign in again.',
  provider_error: 'Your identity provider could not complete the sign-in. Try again; if it keeps failing, tell your administrator.',
  id_token_invalid: 'The answer from your identity provider could not be verified, so you were not signed in. Tell your administrator.',
  idp_denied: 'Your identity provider did not sign you in (it was cancelled or refused). Try again.',
  not_allowed: 'Your company account cannot sign in here. Ask your administrator to check that your account and its email domain are allowed.',
  account_link_required:
    'An account with your address already exists here. Sign in with your email and password, then choose “Link single sign-on” on your Account page.',
};

/** A code is traded once; React may run the effect twice in development. */
const exchanged = new Set<string>();

/**
 * Where the identity provider's sign-in ends (#/sso-complete?code=… or ?error=…): the one-time
 * code is traded for a session, then the console continues as after any sign-in.
 */
export function SsoComplete({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [params] = useState(() => hashParams());
  // Back from linking the signed-in account (Account page): nothing to trade, the session goes on.
  const linked = params.get('linked') === '1';
  const [error, setError] = useState<unknown>(() => {
    const code = params.get('error');
    if (code) return new InputError(EXPLANATIONS[code] ?? EXPLANATIONS.provider_error!);
    return params.get('code') || linked ? null : new InputError('This page needs a sign-in code. Start again from the sign-in page.');
  });

  useEffect(() => {
    const code = params.get('code');
    // The code leaves the address bar (and the history) at once.
    history.replaceState(null, '', '#/sso-complete');
    if (!code || exchanged.has(code)) return;
    exchanged.add(code);
    exchangeSsoCode(code)
      .then(onSignedIn)
      .then(
        // A user whose roles open no screen still has an account page.
        () => readRoute() === 'sso-complete' && navigate('account', true),
        (err: unknown) => setError(err),
      );
  }, [params, onSignedIn]);

  return (
    <main id="main" className="main main--narrow">
      <div className="panel">
        <PageHeading>Single sign-on</PageHeading>
        {error ? (
          <>
            <ErrorAlert error={error} />
            <p>
              <a className="button button--primary button--block" href="#/login">
                Back to sign in
              </a>
            </p>
          </>
        ) : linked ? (
          <>
            <Status>Single sign-on is linked to your account: you can now sign in with your identity provider.</Status>
            <p>
              <a className="button button--primary button--block" href="#/account">
                Back to your account
              </a>
            </p>
          </>
        ) : (
          <>
            <ErrorAlert error={null} />
            <Status>Signing you in…</Status>
          </>
        )}
      </div>
    </main>
  );
}
