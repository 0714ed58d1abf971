import { StrictMode, useCallback, useEffect, useRef, useState, useSyncExternalStore, type MouseEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, endImpersonation, hasSession, logout, onSessionEnded, type Me } from './api';
import { AcceptInvitation } from './pages/AcceptInvitation';
import { ForgotPassword } from './pages/ForgotPassword';
import { ResetPassword } from './pages/ResetPassword';
import { SsoComplete } from './pages/SsoComplete';
import { VerifyEmail } from './pages/VerifyEmail';
import { Login } from './pages/Login';
import { Home } from './pages/Home';
import { StepUpDialog } from './components/MfaStepUp';
import { homeRoute, isAllowed, isPublic, labelOf, navigate, readRoute, type Route } from './screens';
import './styles.css';

function useRoute(): Route {
  return useSyncExternalStore(
    (onChange) => {
      window.addEventListener('hashchange', onChange);
      return () => window.removeEventListener('hashchange', onChange);
    },
    readRoute,
  );
}

const TITLE = 'TSV Baseline Console';

/** Titles of the pages open to anyone holding the link. */
const PUBLIC_TITLES = {
  'accept-invitation': 'Accept invitation',
  'forgot-password': 'Reset your password',
  'reset-password': 'Choose a new password',
  'sso-complete': 'Single sign-on',
  'verify-email': 'Verify your email address',
} as const;

/* ---------- app shell ---------- */

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null>(null);
  const [booting, setBooting] = useState(hasSession);
  const [bootError, setBootError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  /** What to tell the user when the session ends on purpose (otherwise it expired). */
  const endNotice = useRef<string | null>(null);

  // Session ended: either the user signed out or the refresh token was rejected.
  useEffect(
    () =>
      onSessionEnded(() => {
        setMe(null);
        setNotice(endNotice.current ?? 'Your session has expired. Please sign in again.');
        endNotice.current = null;
        navigate('login', true);
      }),
    [],
  );

  // Restore a session kept in sessionStorage.
  useEffect(() => {
    if (!hasSession()) return;
    let cancelled = false;
    api.me().then(
      (user) => {
        if (!cancelled) setMe(user);
      },
      (err: unknown) => {
        if (!cancelled && hasSession()) setBootError(err);
      },
    ).finally(() => {
      if (!cancelled) setBooting(false);
    });
    return () => {
      cancelled = true;
    };
  }, []);

  // Keep the URL in line with the session; the public pages are open to anyone holding the link.
  useEffect(() => {
    if (booting || isPublic(route)) return;
    if (!me && route !== 'login') navigate('login', true);
    if (me && !isAllowed(me, route)) {
      const home = homeRoute(me);
      if (home) navigate(home, true);
    }
  }, [booting, me, route]);

  useEffect(() => {
    const label = isPublic(route) ? PUBLIC_TITLES[route] : me && route !== 'login' ? labelOf(route) : '';
    document.title = label ? `${label} · ${TITLE}` : TITLE;
  }, [me, route]);

  const onSignedIn = useCallback((user: Me) => {
    setNotice('');
    setBootError(null);
    setMe(user);
    const home = homeRoute(user);
    if (home) navigate(home);
  }, []);

  const onSignOut = useCallback(async () => {
    endNotice.current = 'You have signed out.';
    await logout();
  }, []);

  /** A new session began in this console (invitation accepted, impersonation): read who we are now. */
  const onSessionChanged = useCallback(async () => {
    try {
      onSignedIn(await api.me());
    } catch (err) {
      setBootError(err);
    }
  }, [onSignedIn]);

  const onEndImpersonation = useCallback(async () => {
    endNotice.current = 'The impersonation session has ended.';
    if (await endImpersonation()) {
      endNotice.current = null;
      await onSessionChanged();
    }
  }, [onSessionChanged]);


  let content;
  if (isPublic(route)) {
    content = (
      <>
        <header className="topbar">
          <span className="brand">TSV Baseline</span>
        </header>
        {route === 'accept-invitation' && <AcceptInvitation onAccepted={onSessionChanged} />}
        {route === 'forgot-password' && <ForgotPassword />}
        {route === 'reset-password' && <ResetPassword />}
        {route === 'sso-complete' && <SsoComplete onSignedIn={onSessionChanged} />}
        {route === 'verify-email' && <VerifyEmail onVerified={onSessionChanged} />}
      </>
    );
  } else if (booting) {
    content = (
      <main id="main" className="main" aria-busy="true">
        <p className="status">Loading…</p>
      </main>
    );
  } else if (me) {
    content = (
      <>
        <Home me={me} route={route} onSignOut={onSignOut} onSessionChanged={onSessionChanged} onEndImpersonation={onEndImpersonation} />
        <StepUpDialog />
      </>
    );
  } else {
    content = (
      <>
        <header className="topbar">
          <span className="brand">TSV Baseline</span>
        </header>
        <Login onSignedIn={onSignedIn} notice={notice} initialError={bootError} />
      </>
    );
  }

  return (
    <>
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to main content
      </a>
      {content}
    </>
  );
}

/** Hash routing owns location.hash, so the skip link moves focus itself instead of navigating. */
function skipToMain(e: MouseEvent<HTMLAnchorElement>) {
  e.preventDefault();
  const main = document.getElementById('main');
  if (main) {
    main.tabIndex = -1;
    main.focus();
  }
}

const rootEl = document.getElementById('root');
if (!rootEl) throw new Error('#root element missing');
createRoot(rootEl).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
