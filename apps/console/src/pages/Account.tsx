import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, InputError, ProblemError, ssoApi, ssoAvailable, type Device, type Me, type SessionSummary } from '../api';
import { Badge, DataList, DateTime, ErrorAlert, formatDateTime, None, PageHeading, Status, type Column } from '../components/ui';
import { NewPasswordFields, PasswordAlert } from '../components/PasswordAlert';
import { MfaSettings } from '../components/MfaSettings';
import { PhoneVerification } from '../components/PhoneVerification';
import { useAction } from '../components/useAction';

/**
 * The signed-in user's own account: the sessions and devices signed in to it, each of which they
 * may end, and changing the password (which ends every other session).
 */
export function Account({ me }: { me: Me }) {
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [devices, setDevices] = useState<Device[]>([]);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const action = useAction();
  /** The session or device being ended. */
  const [endingId, setEndingId] = useState<string | null>(null);
  const busyId = action.busy ? endingId : null;
  const headingRef = useRef<HTMLHeadingElement>(null);
  const ids = { sessions: useId(), devices: useId() };

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [s, d] = await Promise.all([api.listOwnSessions(), api.listOwnDevices()]);
      setSessions(s.items);
      setDevices(d.items);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
    setLoading(false);
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  /** Ends a session or forgets a device (`id`), then reads both lists again. */
  async function end(id: string, work: () => Promise<void>, done: string) {
    if (action.busy) return;
    setEndingId(id);
    setStatus('');
    await action.run(async () => {
      await work();
      setStatus(done);
      await load();
    });
    // The button went away with its row: keep focus on the section instead of the page body.
    headingRef.current?.focus();
  }

  const endSession = (session: SessionSummary) => end(session.id, () => api.revokeOwnSession(session.id), 'The session has ended.');
  const forgetDevice = (device: Device) =>
    end(device.id, () => api.forgetOwnDevice(device.id), 'The device has been forgotten and its sessions have ended.');

  const current = sessions.find((s) => s.current);

  const sessionColumns: Column<SessionSummary>[] = [
    {
      label: 'Session',
      render: (s) => (
        <>
          {s.user_agent ?? 'Unknown browser or app'} {s.current && <Badge value="current" />}
        </>
      ),
    },
    { label: 'Signed in', render: (s) => <DateTime iso={s.created_at} /> },
    { label: 'Last active', render: (s) => <DateTime iso={s.last_seen_at} /> },
    { label: 'IP address', render: (s) => s.ip ?? <None /> },
    {
      label: 'Action',
      render: (s) =>
        s.current ? (
          <span className="muted">This session</span>
        ) : (
          <button
            type="button"
            className="button button--danger"
            aria-label={`End session from ${s.user_agent ?? 'unknown browser'} signed in ${formatDateTime(s.created_at)}`}
            aria-disabled={busyId !== null || undefined}
            onClick={() => void endSession(s)}
          >
            {busyId === s.id ? 'Ending…' : 'End session'}
          </button>
        ),
    },
  ];

  const deviceColumns: Column<Device>[] = [
    { label: 'Device', render: (d) => [d.os, d.app_version].filter(Boolean).join(' · ') || 'Unknown device' },
    { label: 'First seen', render: (d) => <DateTime iso={d.first_seen_at} /> },
    { label: 'Last seen', render: (d) => <DateTime iso={d.last_seen_at} /> },
    { label: 'Active sessions', render: (d) => String(d.active_sessions) },
    {
      label: 'Action',
      render: (d) =>
        d.id === current?.device_id ? (
          <span className="muted">This device</span>
        ) : (
          <button
            type="button"
            className="button button--danger"
            aria-label={`Forget device ${d.os ?? 'unknown'} last seen ${formatDateTime(d.last_seen_at)}`}
            aria-disabled={busyId !== null || undefined}
            onClick={() => void forgetDevice(d)}
          >
            {busyId === d.id ? 'Forgetting…' : 'Forget'}
          </button>
        ),
    },
  ];

  return (
    <>
      <PageHeading>Account</PageHeading>
      <p className="intro">
        Signed in as <strong>{me.email}</strong>.
      </p>
      <Status>{status}</Status>
      <ErrorAlert error={action.error ?? loadError} />

      <section className="account-section" aria-labelledby={ids.sessions}>
        <h2 id={ids.sessions} ref={headingRef} tabIndex={-1} className="section-title">
          Sessions and devices
        </h2>
        {loading && sessions.length === 0 ? (
          <p className="status">Loading…</p>
        ) : (
          <DataList label="Your sessions" rows={sessions} columns={sessionColumns} busy={loading} />
        )}
        <h3 id={ids.devices} className="subsection-title">
          Devices
        </h3>
        {devices.length === 0 && !loading ? (
          <p className="muted">No devices have been recorded for your account.</p>
        ) : (
          <DataList label="Your devices" rows={devices} columns={deviceColumns} busy={loading} />
        )}
      </section>

      <MfaSettings disabled={me.impersonator !== null} />

      {me.impersonator === null && <PhoneVerification me={me} onVerified={load} />}

      {me.impersonator === null && me.tenant_slug && <LinkSso tenantSlug={me.tenant_slug} />}

      <ChangePassword disabled={me.impersonator !== null} onChanged={load} />
    </>
  );
}

/**
 * Linking the account to the organization's identity provider, when it has one: signed in here
 * (password, and the second factor if the account has one), the user signs in at the provider and
 * comes back linked. The address at the provider must be this account's.
 */
function LinkSso({ tenantSlug }: { tenantSlug: string }) {
  const [available, setAvailable] = useState(false);
  // Linking leaves for the identity provider.
  const { busy, error, run } = useAction({ leaves: true });
  const ids = { heading: useId() };

  useEffect(() => {
    let cancelled = false;
    ssoAvailable(tenantSlug).then(
      (enabled) => !cancelled && setAvailable(enabled),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [tenantSlug]);

  const link = () => run(async () => window.location.assign((await ssoApi.startLink()).location));

  if (!available) return null;
  return (
    <section className="panel account-section" aria-labelledby={ids.heading}>
      <h2 id={ids.heading} className="section-title">
        Single sign-on
      </h2>
      <ErrorAlert error={error} />
      <p>Sign in with your organization’s identity provider too. You will sign in there once, with the same email address as here.</p>
      <div className="actions">
        <button type="button" className="button" aria-disabled={busy || undefined} onClick={() => void link()}>
          {busy ? 'Opening…' : 'Link single sign-on'}
        </button>
      </div>
    </section>
  );
}

function ChangePassword({ disabled, onChanged }: { disabled: boolean; onChanged: () => Promise<void> }) {
  const { busy, error, setError, run } = useAction();
  const [status, setStatus] = useState('');
  const currentRef = useRef<HTMLInputElement>(null);
  const newRef = useRef<HTMLInputElement>(null);
  const ids = { heading: useId(), current: useId() };

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const form = e.currentTarget;
    const data = new FormData(form);
    const current_password = String(data.get('current_password') ?? '');
    const new_password = String(data.get('new_password') ?? '');
    setStatus('');
    if (new_password !== String(data.get('confirm') ?? '')) {
      setError(new InputError('The two new passwords differ. Type the same password twice.'));
      newRef.current?.focus();
      return;
    }
    void run(
      async () => {
        await api.changePassword({ current_password, new_password });
        form.reset();
        setStatus('Your password has been changed. Your other sessions have ended.');
        await onChanged();
      },
      // A wrong current password is refused with 403; anything else concerns the new one.
      (err) => (err instanceof ProblemError && err.status === 403 ? currentRef : newRef).current?.focus(),
    );
  }

  return (
    <section className="panel account-section" aria-labelledby={ids.heading}>
      <h2 id={ids.heading} className="section-title">
        Change password
      </h2>
      {disabled ? (
        <p className="muted">A password cannot be changed while acting as another user.</p>
      ) : (
        <form className="form" onSubmit={submit}>
          <Status>{status}</Status>
          <PasswordAlert error={error} />
          <div className="field">
            <label htmlFor={ids.current}>Current password</label>
            <input id={ids.current} ref={currentRef} name="current_password" type="password" autoComplete="current-password" required />
          </div>
          <NewPasswordFields name="new_password" label="New password" confirmLabel="Repeat the new password" inputRef={newRef} invalid={Boolean(error)} />
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Changing…' : 'Change password'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
