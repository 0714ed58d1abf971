import { useEffect, useId, useState, type FormEvent } from 'react';
import { InputError, ssoApi, type SsoConfig, type SsoConfigInput } from '../api';
import { ConfirmDialog, ErrorAlert, PageHeading, SelectField, Status, TextField, type Option } from '../components/ui';
import { useAction } from '../components/useAction';

/** The roles a user created at first sign-in may get: never Owner. */
const ROLES: Option[] = [
  { value: 'member', label: 'Member' },
  { value: 'readonly', label: 'Read-only' },
  { value: 'auditor', label: 'Auditor' },
  { value: 'admin', label: 'Administrator' },
];

/**
 * Single sign-on settings for Owners (FR-AUTH-003): the organization's OIDC identity provider.
 * Saving first checks the provider's discovery document and keys; a provider that cannot be used
 * is refused with the reason, and nothing changes.
 */
export function SsoSettings({ tenantId }: { tenantId: string }) {
  const [config, setConfig] = useState<SsoConfig | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const saving = useAction();
  const removal = useAction();
  const busy = saving.busy || removal.busy;
  const [message, setMessage] = useState('');
  const [removing, setRemoving] = useState(false);
  const ids = { redirect: useId() };

  useEffect(() => {
    let cancelled = false;
    ssoApi.get(tenantId).then(
      (loaded) => !cancelled && setConfig(loaded),
      (err: unknown) => !cancelled && setLoadError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [tenantId]);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy || !config) return;
    const data = new FormData(e.currentTarget);
    const secret = String(data.get('client_secret') ?? '');
    const domains = String(data.get('allowed_domains') ?? '')
      .split(/[\s,]+/)
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean);
    if (domains.length === 0) {
      saving.setError(new InputError('List at least one email domain, for example example.com.'));
      return;
    }
    setMessage('Checking the identity provider…');
    await saving.run(
      async () => {
        const saved = await ssoApi.save(tenantId, {
          issuer: String(data.get('issuer') ?? '').trim(),
          client_id: String(data.get('client_id') ?? '').trim(),
          ...(secret ? { client_secret: secret } : {}),
          allowed_domains: domains,
          enabled: data.get('enabled') === 'on',
          default_role: String(data.get('default_role') ?? 'member') as SsoConfigInput['default_role'],
          link_existing_accounts: data.get('link_existing_accounts') === 'on',
          ...(config.version ? { version: config.version } : {}),
        });
        setConfig(saved);
        setMessage(saved.enabled ? 'Saved. Members of the allowed domains can now sign in with single sign-on.' : 'Saved. Single sign-on is turned off.');
      },
      () => setMessage(''),
    );
  }

  const remove = () =>
    removal.run(async () => {
      await ssoApi.remove(tenantId);
      setConfig(await ssoApi.get(tenantId));
      setRemoving(false);
      setMessage('Single sign-on removed. Users sign in with their passwords.');
    });

  return (
    <>
      <PageHeading>Single sign-on</PageHeading>
      <Status>{message}</Status>
      <ErrorAlert error={loadError} />
      {config && (
        <section className="panel">
          <p>
            Let your people sign in with your company’s OpenID Connect identity provider. Register this platform at the provider as a web
            application with this redirect URI:
          </p>
          <div className="field">
            <label htmlFor={ids.redirect}>Redirect URI</label>
            <input id={ids.redirect} type="text" readOnly value={config.redirect_uri} onFocus={(e) => e.currentTarget.select()} />
          </div>
          <form key={config.version ?? 0} className="form" onSubmit={(e) => void save(e)}>
            <ErrorAlert error={saving.error} />
            <TextField label="Issuer URL" name="issuer" type="url" defaultValue={config.issuer ?? ''} placeholder="https://login.example.com" hint="Exactly as the provider’s discovery document states it." />
            <TextField label="Client ID" name="client_id" defaultValue={config.client_id ?? ''} autoComplete="off" />
            <TextField
              label="Client secret"
              name="client_secret"
              type="password"
              autoComplete="new-password"
              optional={config.client_secret_set}
              hint={config.client_secret_set ? 'A secret is stored (it is never shown). Leave blank to keep it, unless the issuer or client ID changes.' : 'Stored encrypted; never shown again.'}
            />
            <TextField
              label="Allowed email domains"
              name="allowed_domains"
              defaultValue={config.allowed_domains.join(', ')}
              hint="Separated by commas. Only verified addresses in these domains can sign in; a first sign-in creates the account."
            />
            <SelectField label="Role of new users" name="default_role" options={ROLES} defaultValue={config.default_role ?? 'member'} hint="Given to an account created at its first sign-in." />
            <label className="check">
              <input name="enabled" type="checkbox" defaultChecked={config.configured ? config.enabled : true} />
              <span>Offer single sign-on on the sign-in page</span>
            </label>
            <label className="check">
              <input name="link_existing_accounts" type="checkbox" defaultChecked={config.link_existing_accounts} />
              <span>
                Link existing accounts at their first single sign-on, by the address the provider verified. Accounts with two-step verification
                or an administrative role are never linked this way: their holders link single sign-on from their Account page.
              </span>
            </label>
            <div className="actions">
              <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
                {busy ? 'Checking…' : 'Test and save'}
              </button>
              {config.configured && (
                <button type="button" className="button button--danger" onClick={() => setRemoving(true)}>
                  Remove single sign-on
                </button>
              )}
            </div>
          </form>
        </section>
      )}
      <ConfirmDialog
        open={removing}
        title="Remove single sign-on?"
        confirmLabel="Remove"
        busy={busy}
        error={removal.error}
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(false)}
      >
        <p>Users will no longer be able to sign in with the identity provider. Accounts and their links are kept.</p>
      </ConfirmDialog>
    </>
  );
}
