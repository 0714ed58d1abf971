import { StrictMode, useCallback, useEffect, useRef, useState, useSyncExternalStore, type MouseEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, hasSession, logout, onSessionEnded, type Me } from './api';
import { Login } from './pages/Login';
import { Home } from './pages/Home';
import './styles.css';

/* ---------- hash routing: #/login, #/customers, #/tenants ---------- */

type Route = 'login' | 'customers' | 'tenants';

function readRoute(): Route {
  const path = window.location.hash.replace(/^#\/?/, '').split(/[?/]/)[0];
  return path === 'customers' || path === 'tenants' ? path : 'login';
}

function useRoute(): Route {
  return useSyncExternalStore(
    (onChange) => {
      window.addEventListener('hashchange', onChange);
      return () => window.removeEventListener('hashchange', onChange);
    },
    readRoute,
  );
}

function navigate(route: Route, replace = false): void {
  const hash = `#/${route}`;
  if (window.location.hash === hash) return;
  if (replace) {
    history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = hash;
  }
}

function homeRoute(me: Me): Route {
  return me.tenant_id ? 'customers' : 'tenants';
}

/* ---------- app shell ---------- */

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null>(null);
  const [booting, setBooting] = useState(hasSession);
  const [bootError, setBootError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const signingOut = useRef(false);

  // Session ended: either the user signed out or the refresh token was rejected.
  useEffect(
    () =>
      onSessionEnded(() => {
        setMe(null);
        setNotice(signingOut.current ? 'You have signed out.' : 'Your session has expired. Please sign in again.');
        signingOut.current = false;
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

  // Keep the URL in line with the session.
  useEffect(() => {
    if (booting) return;
    if (!me && route !== 'login') navigate('login', true);
    if (me && route !== homeRoute(me)) navigate(homeRoute(me), true);
  }, [booting, me, route]);

  const onSignedIn = useCallback((user: Me) => {
    setNotice('');
    setBootError(null);
    setMe(user);
    navigate(homeRoute(user));
  }, []);

  const onSignOut = useCallback(async () => {
    signingOut.current = true;
    await logout();
  }, []);

  let content;
  if (booting) {
    content = (
      <main id="main" className="main" aria-busy="true">
        <p className="status">Loading…</p>
      </main>
    );
  } else if (me) {
    content = <Home me={me} onSignOut={onSignOut} />;
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
