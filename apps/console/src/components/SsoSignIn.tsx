import { useEffect, useState } from 'react';
import { platformSsoAvailable, ssoAvailable, ssoStartUrl } from '../api';

/**
 * The single sign-on choices of the sign-in page (FR-AUTH-001, FR-AUTH-011): "Sign in with SSO"
 * once the organization typed has an identity provider, and, with no organization, "Sign in with
 * your company account" for platform staff when the platform has one. Each is a full-page
 * navigation to the provider; the console takes over again at #/sso-complete.
 */
export function SsoSignIn({ organization }: { organization: string }) {
  const [tenantSso, setTenantSso] = useState<string | null>(null);
  const [platformSso, setPlatformSso] = useState(false);

  useEffect(() => {
    let cancelled = false;
    platformSsoAvailable().then(
      (enabled) => !cancelled && setPlatformSso(enabled),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, []);

  useEffect(() => {
    setTenantSso(null);
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(organization)) return;
    let cancelled = false;
    // Asked once typing pauses, not at every key.
    const timer = setTimeout(() => {
      ssoAvailable(organization).then(
        (enabled) => !cancelled && setTenantSso(enabled ? organization : null),
        () => undefined,
      );
    }, 300);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [organization]);

  if (tenantSso) {
    return (
      <div className="sso-choice">
        <p className="hint">Your organization signs in with its identity provider.</p>
        <a className="button button--block" href={ssoStartUrl(tenantSso)}>
          Sign in with SSO
        </a>
      </div>
    );
  }
  if (!organization && platformSso) {
    return (
      <div className="sso-choice">
        <a className="button button--block" href={ssoStartUrl(null)}>
          Sign in with your company account
        </a>
      </div>
    );
  }
  return null;
}
