import { useId, useRef, useState, type FormEvent } from 'react';
import { api, InputError, type Invitation, type InvitationInput, type Me } from '../api';
import { roleOptions, unitOptions, useRolesAndUnits } from '../lookups';
import { usePaged } from '../paged';
import { can } from '../screens';
import { Badge, ConfirmDialog, DataList, DateTime, ErrorAlert, FormPanel, LoadMore, PageHeading, SelectField, Status, TextField, type Column, type Option } from '../components/ui';
import { useAction } from '../components/useAction';

/** Invitations (FR-TENANT-001/007): invite by email with a role; resend replaces the old link. */
const STATUSES: Option[] = [
  { value: '', label: 'Every status' },
  { value: 'pending', label: 'Pending' },
  { value: 'accepted', label: 'Accepted' },
  { value: 'revoked', label: 'Revoked' },
  { value: 'expired', label: 'Expired' },
];

export function Invitations({ me, tenantId }: { me: Me; tenantId: string }) {
  const lookups = useRolesAndUnits(tenantId);
  const [status, setStatus] = useState('');
  const [expiryDays, setExpiryDays] = useState<number | null>(null);
  const list = usePaged(
    (cursor) =>
      api.listInvitations(tenantId, { ...(cursor ? { cursor } : {}), ...(status ? { status: status as Invitation['status'] } : {}) }).then((page) => {
        setExpiryDays(page.expiry_days);
        return page;
      }),
    `${tenantId}\u0000${status}`,
  );
  const [creating, setCreating] = useState(false);
  const [message, setMessage] = useState('');
  const resending = useAction();
  const revocation = useAction();
  /** The invitation being sent again. */
  const [resendingId, setResendingId] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  async function resend(invitation: Invitation) {
    if (resending.busy || revocation.busy) return;
    setResendingId(invitation.id);
    await resending.run(async () => {
      await api.resendInvitation(tenantId, invitation.id);
      setMessage(`Invitation to ${invitation.email} sent again; the previous link no longer works.`);
      list.reload();
    });
  }

  async function confirmRevoke() {
    if (!revoking) return;
    await revocation.run(async () => {
      await api.revokeInvitation(tenantId, revoking.id);
      setMessage(`Invitation to ${revoking.email} revoked.`);
      setRevoking(null);
      list.reload();
      listRef.current?.focus();
    });
  }

  const columns: Column<Invitation>[] = [
    { label: 'Email', render: (i) => i.email },
    {
      label: 'Role',
      render: (i) => (
        <>
          {lookups.roleName(i.role_id)}
          {i.unit_id && ` (${lookups.scopeName(i.unit_id)})`}
        </>
      ),
    },
    { label: 'Status', render: (i) => <Badge value={i.status} /> },
    { label: 'Expires', render: (i) => <DateTime iso={i.expires_at} /> },
    {
      label: 'Actions',
      render: (i) =>
        i.status === 'pending' ? (
          <div className="row-actions">
            <button type="button" className="button button--small" onClick={() => void resend(i)} aria-disabled={(resending.busy && resendingId === i.id) || undefined}>
              Resend<span className="visually-hidden"> to {i.email}</span>
            </button>
            <button
              type="button"
              className="button button--small button--danger-outline"
              onClick={() => {
                revocation.setError(null);
                setRevoking(i);
              }}
            >
              Revoke<span className="visually-hidden"> invitation to {i.email}</span>
            </button>
          </div>
        ) : (
          <span className="muted">None</span>
        ),
    },
  ];

  const count = list.items.length;
  return (
    <>
      <div className="page-head">
        <PageHeading>Invitations</PageHeading>
        <FormPanel label="Invite a user" heading="Invite a user" open={creating} onOpenChange={setCreating}>
          <InviteForm
            roles={roleOptions(lookups.roles)}
            units={unitOptions(lookups.units)}
            onCancel={() => setCreating(false)}
            onSubmit={async (input) => {
              const created = await api.invite(tenantId, input);
              setCreating(false);
              setMessage(`Invitation sent to ${created.email}.`);
              list.reload();
            }}
          />
        </FormPanel>
      </div>
      <p className="intro">
        The invited person gets an email with a link to choose a password. Links stay valid for {expiryDays ?? 7} days; sending again
        replaces the link.
      </p>
      <div className="filters-row">
        <SelectField label="Status" name="status" options={STATUSES} value={status} onChange={(e) => setStatus(e.target.value)} />
        {can(me, 'users.manage') && expiryDays !== null && (
          <ExpiryForm
            key={expiryDays}
            days={expiryDays}
            onSave={async (days) => {
              const saved = await api.setInvitationExpiry(tenantId, days);
              setExpiryDays(saved.expiry_days);
              setMessage(`New invitations stay valid for ${saved.expiry_days} days.`);
            }}
          />
        )}
      </div>
      <ErrorAlert error={resending.error ?? list.error ?? lookups.error} />
      <Status>
        {message} {list.loaded && !list.loading && count > 0 ? `Showing ${count} invitation${count === 1 ? '' : 's'}${list.hasMore ? ', more available' : ''}.` : ''}
      </Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && count === 0 && !list.error ? (
          <p className="empty">No invitations.</p>
        ) : (
          <DataList label="Invitations" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />

      <ConfirmDialog
        open={revoking !== null}
        title="Revoke invitation"
        confirmLabel="Revoke"
        busy={revocation.busy || resending.busy}
        error={revocation.error}
        onConfirm={() => void confirmRevoke()}
        onCancel={() => setRevoking(null)}
      >
        <p>Revoke the invitation to {revoking?.email}? The link in the email stops working.</p>
      </ConfirmDialog>
    </>
  );
}

/** How long new invitation links stay valid (1 to 30 days). */
function ExpiryForm({ days, onSave }: { days: number; onSave: (days: number) => Promise<void> }) {
  const { busy, error, setError, run } = useAction();
  const inputId = useId();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const value = Number(new FormData(e.currentTarget).get('expiry_days'));
    if (!Number.isInteger(value) || value < 1 || value > 30) return setError(new InputError('Enter a whole number of days from 1 to 30.'));
    await run(async () => {
      await onSave(value);
    });
  }

  return (
    <form className="inline-form" aria-label="Invitation validity" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <div className="field">
        <label htmlFor={inputId}>Links valid for (days)</label>
        <div className="inline-form__row">
          <input id={inputId} name="expiry_days" type="number" inputMode="numeric" min={1} max={30} defaultValue={days} required />
          <button type="submit" className="button" aria-disabled={busy || undefined}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </div>
    </form>
  );
}

function InviteForm({
  roles,
  units,
  onSubmit,
  onCancel,
}: {
  roles: Option[];
  units: Option[];
  onSubmit: (input: InvitationInput) => Promise<void>;
  onCancel: () => void;
}) {
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const email = String(data.get('email') ?? '').trim();
    const roleId = String(data.get('role_id') ?? '');
    const unitId = String(data.get('unit_id') ?? '');
    if (!email) return setError(new InputError('Enter an email address.'));
    if (!roleId) return setError(new InputError('Choose a role.'));
    await run(async () => {
      await onSubmit({ email, role_id: roleId, ...(unitId ? { unit_id: unitId } : {}) });
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <TextField label="Email" name="email" type="email" inputMode="email" maxLength={320} autoComplete="off" autoCapitalize="none" spellCheck={false} />
      <SelectField label="Role" name="role_id" options={[{ value: '', label: 'Choose a role' }, ...roles]} required />
      <SelectField label="Where" name="unit_id" options={[{ value: '', label: 'Whole organization' }, ...units]} />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Sending…' : 'Send invitation'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
