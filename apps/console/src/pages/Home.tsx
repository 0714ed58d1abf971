import { useState } from 'react';
import type { Me } from '../api';
import { Customers } from './Customers';
import { Tenants } from './Tenants';

/** Signed-in shell: banner with the current user, then the page for their kind of account. */
export function Home({ me, onSignOut }: { me: Me; onSignOut: () => Promise<void> }) {
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    if (signingOut) return;
    setSigningOut(true);
    await onSignOut();
  }

  return (
    <>
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
          <button type="button" className="button button--on-dark" onClick={() => void signOut()} aria-disabled={signingOut || undefined}>
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
      </header>
      <main id="main" className="main">
        {me.tenant_id ? <Customers tenantId={me.tenant_id} /> : <Tenants />}
      </main>
    </>
  );
}
