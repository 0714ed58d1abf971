import { useId, useRef, useState, type FormEvent } from 'react';
import { api, InputError, type Me, type User, type UserFilters } from '../api';
import { roleOptions, unitOptions, useRolesAndUnits } from '../lookups';
import { useAction } from '../components/useAction';
import { usePaged } from '../paged';
import { can } from '../screens';
import { Badge, ConfirmDialog, DataList, Dialog, ErrorAlert, LoadMore, PageHeading, SelectField, Status, Time, type Column, type Option } from '../components/ui';

const STATUSES: Option[] = [
  { value: '', label: 'Any status' },
  { value: 'active', label: 'Active' },
  { value: 'disabled', label: 'Disabled' },
  { value: 'deleted', label: 'Deleted' },
];

type UserAction = { user: User; kind: 'disable' | 'enable' | 'delete' };

/** The organization's users: who they are, their roles, and (users.manage) changing them. */
export function Users({ me, tenantId }: { me: Me; tenantId: string }) {
  const lookups = useRolesAndUnits(tenantId);
  const [filters, setFilters] = useState<UserFilters>({});
  const list = usePaged((cursor) => api.listUsers(tenantId, { ...filters, ...(cursor ? { cursor } : {}) }), `${tenantId}\u0000${JSON.stringify(filters)}`);
  const [message, setMessage] = useState('');
  const [changingRole, setChangingRole] = useState<User | null>(null);
  const [action, setAction] = useState<UserAction | null>(null);
  const userAction = useAction();
  const listRef = useRef<HTMLDivElement>(null);
  const searchId = useId();
  const manage = can(me, 'users.manage');

  function applyFilters(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    // The choices of the form are the API's values.
    const next: Record<string, string> = {};
    for (const key of ['q', 'status', 'role_id', 'unit_id'] as const) {
      const value = String(data.get(key) ?? '').trim();
      if (value) next[key] = value;
    }
    setMessage('');
    setFilters(next as UserFilters);
  }

  async function confirmAction() {
    if (!action) return;
    const { user, kind } = action;
    await userAction.run(async () => {
      if (kind === 'delete') await api.deleteUser(tenantId, user);
      else if (kind === 'disable') await api.disableUser(tenantId, user.id);
      else await api.enableUser(tenantId, user.id);
      setMessage(`${user.email} ${kind === 'delete' ? 'deleted' : kind === 'disable' ? 'disabled' : 'enabled'}.`);
      setAction(null);
      list.reload();
      listRef.current?.focus();
    });
  }

  const columns: Column<User>[] = [
    { label: 'Name', render: (u) => u.name || u.email },
    { label: 'Email', render: (u) => u.email },
    { label: 'Status', render: (u) => <Badge value={u.status} /> },
    {
      label: 'Roles',
      render: (u) =>
        u.roles.length === 0 ? (
          <span className="muted">None</span>
        ) : (
          <ul className="inline-list">
            {u.roles.map((r) => (
              <li key={r.assignment_id}>
                {r.name}
                {r.unit_id && ` (${lookups.scopeName(r.unit_id)})`}
              </li>
            ))}
          </ul>
        ),
    },
    { label: 'Since', render: (u) => <Time iso={u.created_at} /> },
  ];
  if (manage) {
    columns.push({
      label: 'Actions',
      render: (u) =>
        u.id === me.id || u.status === 'deleted' ? (
          <span className="muted">{u.id === me.id ? 'You' : 'None'}</span>
        ) : (
          <div className="row-actions">
            <button type="button" className="button button--small" onClick={() => setChangingRole(u)}>
              Change role<span className="visually-hidden"> of {u.email}</span>
            </button>
            <button
              type="button"
              className="button button--small"
              onClick={() => {
                userAction.setError(null);
                setAction({ user: u, kind: u.status === 'disabled' ? 'enable' : 'disable' });
              }}
            >
              {u.status === 'disabled' ? 'Enable' : 'Disable'}
              <span className="visually-hidden"> {u.email}</span>
            </button>
            <button
              type="button"
              className="button button--small button--danger-outline"
              onClick={() => {
                userAction.setError(null);
                setAction({ user: u, kind: 'delete' });
              }}
            >
              Delete<span className="visually-hidden"> {u.email}</span>
            </button>
          </div>
        ),
    });
  }

  const count = list.items.length;
  const filtered = Object.keys(filters).length > 0;
  const summary = list.loading || !list.loaded || count === 0 ? '' : `Showing ${count} user${count === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}${list.hasMore ? ', more available' : ''}.`;
  const actionText: Record<UserAction['kind'], string> = {
    disable: 'Disable the user? They are signed out everywhere at once and cannot sign in until enabled again.',
    enable: 'Enable the user? They can sign in again.',
    delete: 'Delete the user? They are signed out everywhere at once and lose every role. This cannot be undone.',
  };

  return (
    <>
      <div className="page-head">
        <PageHeading>Users</PageHeading>
        {can(me, 'users.invite') && (
          <a className="button button--primary" href="#/invitations">
            Invite users
          </a>
        )}
      </div>

      <form role="search" className="filters" aria-label="Users" onSubmit={applyFilters}>
        <div className="field">
          <label htmlFor={searchId}>Search</label>
          <input id={searchId} type="search" name="q" placeholder="Name or email" autoComplete="off" />
        </div>
        <SelectField label="Status" name="status" options={STATUSES} defaultValue="" />
        <SelectField label="Role" name="role_id" options={[{ value: '', label: 'Any role' }, ...roleOptions(lookups.roles)]} defaultValue="" />
        <SelectField label="Unit" name="unit_id" options={[{ value: '', label: 'Any unit' }, ...unitOptions(lookups.units)]} defaultValue="" />
        <div className="filters__actions">
          <button type="submit" className="button">
            Apply filters
          </button>
        </div>
      </form>

      <ErrorAlert error={list.error ?? lookups.error} />
      <Status>{message ? `${message} ${summary}` : summary}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && count === 0 && !list.error ? (
          <p className="empty">{filtered ? 'No users match the filters.' : 'No users yet.'}</p>
        ) : (
          <DataList label="Users" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />

      <Dialog open={changingRole !== null} title={`Change the role of ${changingRole?.email ?? ''}`} onClose={() => setChangingRole(null)}>
        {changingRole && (
          <ChangeRoleForm
            roles={roleOptions(lookups.roles)}
            units={unitOptions(lookups.units)}
            onCancel={() => setChangingRole(null)}
            onSubmit={async (input) => {
              await api.setUserRole(tenantId, changingRole, input);
              setMessage(`${changingRole.email} is now ${lookups.roleName(input.role_id)} (${lookups.scopeName(input.unit_id)}).`);
              setChangingRole(null);
              list.reload();
            }}
          />
        )}
      </Dialog>

      <ConfirmDialog
        open={action !== null}
        title={action ? `${action.kind.charAt(0).toUpperCase()}${action.kind.slice(1)} ${action.user.email}` : ''}
        confirmLabel={action ? `${action.kind.charAt(0).toUpperCase()}${action.kind.slice(1)} user` : ''}
        busy={userAction.busy}
        error={userAction.error}
        onConfirm={() => void confirmAction()}
        onCancel={() => setAction(null)}
      >
        <p>{action && actionText[action.kind]}</p>
      </ConfirmDialog>
    </>
  );
}

/** Replaces every role of the user with one role, tenant-wide or in a unit. */
function ChangeRoleForm({
  roles,
  units,
  onSubmit,
  onCancel,
}: {
  roles: Option[];
  units: Option[];
  onSubmit: (input: { role_id: string; unit_id: string | null }) => Promise<void>;
  onCancel: () => void;
}) {
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const roleId = String(data.get('role_id') ?? '');
    const unitId = String(data.get('unit_id') ?? '');
    if (!roleId) return setError(new InputError('Choose a role.'));
    await run(async () => {
      await onSubmit({ role_id: roleId, unit_id: unitId || null });
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <p className="hint">The new role replaces every role the user holds now. Their sessions change at once.</p>
      <SelectField label="Role" name="role_id" options={[{ value: '', label: 'Choose a role' }, ...roles]} required />
      <SelectField label="Where" name="unit_id" options={[{ value: '', label: 'Whole organization' }, ...units]} />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Saving…' : 'Change role'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
