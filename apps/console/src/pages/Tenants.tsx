import { useRef, useState, type FormEvent } from 'react';
import { api, beginImpersonation, InputError, REGIONS, type Me, type NewTenant, type Tenant } from '../api';
import { usePaged } from '../paged';
import { can } from '../screens';
import {
  Badge,
  ConfirmDialog,
  DataList,
  Dialog,
  ErrorAlert,
  FormPanel,
  LoadMore,
  PageHeading,
  SelectField,
  Status,
  TextField,
  Time,
  type Column,
} from '../components/ui';
import { useAction } from '../components/useAction';

const STATUS_FILTER = [
  { value: '', label: 'Every status' },
  { value: 'active', label: 'Active' },
  { value: 'suspended', label: 'Suspended' },
];

/** Platform operators: every tenant, creating one, suspending and reactivating; Support: acting as a user. */
export function Tenants({ me, onImpersonating }: { me: Me; onImpersonating: () => Promise<void> }) {
  const [status, setStatus] = useState('');
  const list = usePaged((cursor) => api.listTenants({ ...(cursor ? { cursor } : {}), ...(status ? { status: status as Tenant['status'] } : {}) }), `tenants\u0000${status}`);
  const listRef = useRef<HTMLDivElement>(null);
  const [creating, setCreating] = useState(false);
  const [message, setMessage] = useState('');
  const [changing, setChanging] = useState<Tenant | null>(null);
  const statusChange = useAction();
  const [impersonating, setImpersonating] = useState<Tenant | null>(null);
  const write = can(me, 'platform.tenants.write');
  const impersonate = can(me, 'platform.impersonate');

  async function confirmStatusChange() {
    if (!changing) return;
    await statusChange.run(async () => {
      const updated = changing.status === 'suspended' ? await api.reactivateTenant(changing.id) : await api.suspendTenant(changing.id);
      setMessage(`${updated.name} is ${updated.status}.`);
      setChanging(null);
      list.reload();
      listRef.current?.focus();
    });
  }

  const columns: Column<Tenant>[] = [
    { label: 'Name', render: (t) => t.name },
    { label: 'Slug', render: (t) => <code>{t.slug}</code> },
    { label: 'Plan', render: (t) => t.plan },
    { label: 'Region', render: (t) => t.region },
    { label: 'Status', render: (t) => <Badge value={t.status} /> },
    { label: 'Created', render: (t) => <Time iso={t.created_at} /> },
  ];
  if (write || impersonate) {
    columns.push({
      label: 'Actions',
      render: (t) => (
        <div className="row-actions">
          {write && (
            <button
              type="button"
              className={t.status === 'suspended' ? 'button button--small' : 'button button--small button--danger-outline'}
              onClick={() => {
                statusChange.setError(null);
                setChanging(t);
              }}
            >
              {t.status === 'suspended' ? 'Reactivate' : 'Suspend'}
              <span className="visually-hidden"> {t.name}</span>
            </button>
          )}
          {impersonate && t.status === 'active' && (
            <button type="button" className="button button--small" onClick={() => setImpersonating(t)}>
              Act as a user<span className="visually-hidden"> of {t.name}</span>
            </button>
          )}
        </div>
      ),
    });
  }

  const count = list.items.length;
  const suspending = changing?.status !== 'suspended';
  return (
    <>
      <div className="page-head">
        <PageHeading>Tenants</PageHeading>
        {write && (
          <FormPanel label="New tenant" heading="New tenant" open={creating} onOpenChange={setCreating}>
            <TenantForm
              onCancel={() => setCreating(false)}
              onSubmit={async (input) => {
                const created = await api.createTenant(input);
                setCreating(false);
                setMessage(`Tenant “${created.name}” created; its Owner is ${input.owner.email}.`);
                list.prepend(created);
              }}
            />
          </FormPanel>
        )}
      </div>

      <div className="filters filters--inline">
        <SelectField label="Status" name="status" options={STATUS_FILTER} value={status} onChange={(e) => setStatus(e.target.value)} />
      </div>

      <ErrorAlert error={list.error} />
      <Status>
        {message} {list.loaded && !list.loading && count > 0 ? `Showing ${count} tenant${count === 1 ? '' : 's'}${list.hasMore ? ', more available' : ''}.` : ''}
      </Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && count === 0 && !list.error ? (
          <p className="empty">No tenants{status ? ` are ${status}` : ' yet'}.</p>
        ) : (
          <DataList label="Tenants" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />

      <ConfirmDialog
        open={changing !== null}
        title={suspending ? 'Suspend tenant' : 'Reactivate tenant'}
        confirmLabel={suspending ? 'Suspend' : 'Reactivate'}
        busy={statusChange.busy}
        error={statusChange.error}
        onConfirm={() => void confirmStatusChange()}
        onCancel={() => setChanging(null)}
      >
        <p>
          {suspending
            ? `Suspend ${changing?.name ?? ''}? Every session of its users ends at once and nobody can sign in until it is reactivated.`
            : `Reactivate ${changing?.name ?? ''}? Its users can sign in again.`}
        </p>
      </ConfirmDialog>

      <Dialog open={impersonating !== null} title={`Act as a user of ${impersonating?.name ?? ''}`} onClose={() => setImpersonating(null)}>
        {impersonating && (
          <ImpersonationForm
            tenant={impersonating}
            onCancel={() => setImpersonating(null)}
            onStarted={async () => {
              setImpersonating(null);
              await onImpersonating();
            }}
          />
        )}
      </Dialog>
    </>
  );
}

function TenantForm({ onSubmit, onCancel }: { onSubmit: (input: NewTenant) => Promise<void>; onCancel: () => void }) {
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const text = (key: string) => String(data.get(key) ?? '').trim();
    const input: NewTenant = { name: text('name'), slug: text('slug').toLowerCase(), region: text('region') as NewTenant['region'], owner: { email: text('owner_email') } };
    if (text('plan')) input.plan = text('plan');
    if (text('owner_name')) input.owner.name = text('owner_name');
    const password = String(data.get('owner_password') ?? '');
    if (password) input.owner.password = password;
    if (!input.name || !input.slug || !input.owner.email) return setError(new InputError('Enter a name, a slug and the Owner’s email.'));
    await run(async () => {
      await onSubmit(input);
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <TextField label="Name" name="name" maxLength={200} autoComplete="off" />
      <TextField
        label="Slug"
        name="slug"
        maxLength={63}
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        hint="The short name users type when they sign in: lowercase letters, digits and hyphens."
      />
      <SelectField label="Region" name="region" options={REGIONS.map((r) => ({ value: r, label: r }))} hint="Where its data lives; it cannot change later." />
      <TextField label="Plan" name="plan" optional autoComplete="off" spellCheck={false} hint="Defaults to standard." />
      <TextField label="Owner’s email" name="owner_email" type="email" inputMode="email" maxLength={320} autoComplete="off" />
      <TextField label="Owner’s name" name="owner_name" optional maxLength={200} autoComplete="off" />
      <TextField
        label="Owner’s password"
        name="owner_password"
        type="password"
        optional
        minLength={12}
        autoComplete="new-password"
        hint="At least 12 characters."
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Creating…' : 'Create tenant'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Support staff (FR-RBAC-005): a reason is required; the session lasts 30 minutes and cannot be renewed. */
function ImpersonationForm({ tenant, onStarted, onCancel }: { tenant: Tenant; onStarted: () => Promise<void>; onCancel: () => void }) {
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const userId = String(data.get('user_id') ?? '').trim();
    const reason = String(data.get('reason') ?? '').trim();
    const ticket = String(data.get('ticket_id') ?? '').trim();
    if (!userId || reason.length < 10) return setError(new InputError('Enter the user’s id and a reason of at least 10 characters.'));
    await run(async () => {
      const session = await api.startImpersonation({ tenant_id: tenant.id, user_id: userId, reason, ...(ticket ? { ticket_id: ticket } : {}) });
      beginImpersonation(session);
      await onStarted();
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <p className="hint">Everything you do is recorded with your name and the user’s. The session ends after 30 minutes.</p>
      <TextField label="User id" name="user_id" autoComplete="off" spellCheck={false} hint="A user of this organization, never platform staff." />
      <TextField label="Reason" name="reason" minLength={10} maxLength={500} autoComplete="off" hint="At least 10 characters; recorded with every action." />
      <TextField label="Ticket" name="ticket_id" optional maxLength={100} autoComplete="off" spellCheck={false} />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Starting…' : 'Start acting as this user'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
