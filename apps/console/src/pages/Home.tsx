import { useEffect, useId, useState } from 'react';
import type { Me } from '../api';
import { ACCOUNT_LABEL, screensFor, type Route, type Screen } from '../screens';
import { PageHeading } from '../components/ui';
import { Account } from './Account';
import { Assignments } from './Assignments';
import { Audit } from './Audit';
import { Customers } from './Customers';
import { ImpersonationBanner } from '../components/ImpersonationBanner';
import { Invitations } from './Invitations';
import { Roles } from './Roles';
import { SecuritySettings } from './SecuritySettings';
import { SsoSettings } from './SsoSettings';
import { Tenants } from './Tenants';
import { Units } from './Units';
import { Users } from './Users';
import { VerificationBanner } from '../components/VerificationBanner';

/** Signed-in shell: banner with the current user, the navigation their permissions allow, the page. */
export function Home({
  me,
  route,
  onSignOut,
  onSessionChanged,
  onEndImpersonation,
}: {
  me: Me;
  route: Route;
  onSignOut: () => Promise<void>;
  onSessionChanged: () => Promise<void>;
  onEndImpersonation: () => Promise<void>;
}) {
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    if (signingOut) return;
    setSigningOut(true);
    await onSignOut();
  }

  const screens = screensFor(me);
  const current = screens.find((s) => s.route === route);

  return (
    <>
      {me.impersonator && <ImpersonationBanner me={me} onEnd={onEndImpersonation} />}
      <header className="topbar">
        <span className="brand">TSV Baseline</span>
        <div className="account">
          <div className="account__who">
            <span className="account__email" data-testid="user-email">
              {me.email}
            </span>
            <span className="account__org" data-testid="tenant-slug">
              <span className="visually-hidden">Organization: </span>
              {me.tenant_slug ?? 'Platform operator'}
            </span>
          </div>
          <div className="account__actions">
            <a className="button button--on-dark" href="#/account" aria-current={route === 'account' ? 'page' : undefined}>
              {ACCOUNT_LABEL}
            </a>
            <button type="button" className="button button--on-dark" onClick={() => void signOut()} aria-disabled={signingOut || undefined}>
              {signingOut ? 'Signing out…' : 'Sign out'}
            </button>
          </div>
        </div>
      </header>
      {screens.length > 1 && !me.verification_required && <Navigation screens={screens} route={route} />}
      <main id="main" className="main">
        {/* FR-VER-001: until the address (or a required phone) is verified, every screen would be refused. */}
        {me.verification_required ? (
          <VerificationBanner me={me} onVerified={onSessionChanged} />
        ) : /* A route the user may not open is about to be replaced by their first screen. */
        route === 'account' ? (
          <Account me={me} />
        ) : current ? (
          <ScreenPage me={me} route={current.route} onSessionChanged={onSessionChanged} />
        ) : (
          screens.length === 0 && <NoScreens />
        )}
      </main>
    </>
  );
}

function ScreenPage({ me, route, onSessionChanged }: { me: Me; route: Route; onSessionChanged: () => Promise<void> }) {
  const tenantId = me.tenant_id;
  if (route === 'tenants') return <Tenants me={me} onImpersonating={onSessionChanged} />;
  if (route === 'audit') return <Audit me={me} />;
  if (!tenantId) return <NoScreens />;
  switch (route) {
    case 'customers':
      return <Customers tenantId={tenantId} />;
    case 'users':
      return <Users me={me} tenantId={tenantId} />;
    case 'invitations':
      return <Invitations me={me} tenantId={tenantId} />;
    case 'roles':
      return <Roles me={me} tenantId={tenantId} />;
    case 'units':
      return <Units me={me} tenantId={tenantId} />;
    case 'assignments':
      return <Assignments me={me} tenantId={tenantId} />;
    case 'sso':
      return <SsoSettings tenantId={tenantId} />;
    case 'security':
      return <SecuritySettings tenantId={tenantId} />;
    default:
      return <NoScreens />;
  }
}

/**
 * Main navigation: a row of links on wide screens, a "Menu" disclosure on narrow ones. The
 * current page is marked with aria-current; choosing a page closes the menu.
 */
function Navigation({ screens, route }: { screens: Screen[]; route: Route }) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  useEffect(() => setOpen(false), [route]);
  return (
    <nav className={open ? 'nav nav--open' : 'nav'} aria-label="Console">
      <button type="button" className="nav__toggle" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)}>
        Menu
      </button>
      <ul id={listId} className="nav__list">
        {screens.map((s) => (
          <li key={s.route}>
            <a className="nav__link" href={`#/${s.route}`} aria-current={s.route === route ? 'page' : undefined}>
              {s.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function NoScreens() {
  return (
    <>
      <PageHeading>No screens available</PageHeading>
      <p>Your roles give you no screen in this console. Ask an administrator of your organization for access.</p>
    </>
  );
}
