import { useRef, useState, type FormEvent } from 'react';
import { api, InputError, type Assignment, type Me, type User } from '../api';
import { roleOptions, unitOptions, useRolesAndUnits } from '../lookups';
import { useLoaded } from '../paged';
import { can } from '../screens';
import { ConfirmDialog, DataList, ErrorAlert, FormPanel, PageHeading, SelectField, Status, TextField, Time, type Column, type Option } from '../components/ui';
import { useAction } from '../components/useAction';

const WHOLE_ORGANIZATION = '';
const ANY = '';

/** Who holds which role where: tenant-wide or in one unit (FR-RBAC-003). */
export function Assignments({ me, tenantId }: { me: Me; tenantId: string }) {
  const lookups = useRolesAndUnits(tenantId);
  const users = useLoaded(() => api.listUsers(tenantId, { limit: 200 }), tenantId);
  const [filters, setFilters] = useState<{ user_id?: string; role_id?: string; unit_id?: string }>({});
  const assignments = useLoaded(() => api.listAssignments(tenantId, filters), `${tenantId}\u0000${JSON.stringify(filters)}`);
  const [creating, setCreating] = useState(false);
  const [removing, setRemoving] = useState<Assignment | null>(null);
  const removal = useAction();
  const [message, setMessage] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const manage = can(me, 'roles.manage');

  const userList = users.data?.items ?? [];
  const userById = new Map(userList.map((u) => [u.id, u]));
  const userLabel = (id: string) => {
    const u = userById.get(id);
    return u ? u.email : id;
  };
  const items = assignments.data?.items ?? [];

  function applyFilters(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const next: typeof filters = {};
    for (const key of ['user_id', 'role_id', 'unit_id'] as const) {
      const value = String(data.get(key) ?? '');
      if (value) next[key] = value;
    }
    setMessage('');
    setFilters(next);
  }

  async function confirmRemove() {
    if (!removing) return;
    await removal.run(async () => {
      await api.unassign(tenantId, removing.id);
      setMessage(`${lookups.roleName(removing.role_id)} taken from ${userLabel(removing.user_id)}.`);
      setRemoving(null);
      assignments.reload();
      listRef.current?.focus();
    });
  }

  const columns: Column<Assignment>[] = [
    { label: 'User', render: (a) => userLabel(a.user_id) },
    { label: 'Role', render: (a) => lookups.roleName(a.role_id) },
    { label: 'Where', render: (a) => lookups.scopeName(a.unit_id) },
    { label: 'Since', render: (a) => <Time iso={a.created_at} /> },
  ];
  if (manage) {
    columns.push({
      label: 'Actions',
      render: (a) => (
        <button
          type="button"
          className="button button--small button--danger-outline"
          onClick={() => {
            removal.setError(null);
            setRemoving(a);
          }}
        >
          Remove<span className="visually-hidden"> {lookups.roleName(a.role_id)} from {userLabel(a.user_id)}</span>
        </button>
      ),
    });
  }

  const userChoices: Option[] = userList.map((u) => ({ value: u.id, label: u.name ? `${u.name} (${u.email})` : u.email }));
  const count = items.length;

  return (
    <>
      <div className="page-head">
        <PageHeading>Assignments</PageHeading>
        {manage && (
          <FormPanel label="Assign a role" heading="Assign a role" open={creating} onOpenChange={setCreating}>
            <AssignForm
              users={userList}
              usersUnavailable={Boolean(users.error)}
              roles={roleOptions(lookups.roles)}
              units={unitOptions(lookups.units)}
              onCancel={() => setCreating(false)}
              onSubmit={async (input) => {
                const created = await api.assign(tenantId, input);
                setCreating(false);
                setMessage(`${lookups.roleName(created.role_id)} given to ${userLabel(created.user_id)} (${lookups.scopeName(created.unit_id)}).`);
                assignments.reload();
              }}
            />
          </FormPanel>
        )}
      </div>

      <form className="filters" aria-label="Filter assignments" onSubmit={applyFilters}>
        <SelectField label="User" name="user_id" options={[{ value: ANY, label: 'Any user' }, ...userChoices]} defaultValue={ANY} />
        <SelectField label="Role" name="role_id" options={[{ value: ANY, label: 'Any role' }, ...roleOptions(lookups.roles)]} defaultValue={ANY} />
        <SelectField label="Unit" name="unit_id" options={[{ value: ANY, label: 'Any unit' }, ...unitOptions(lookups.units)]} defaultValue={ANY} />
        <div className="filters__actions">
          <button type="submit" className="button">
            Apply filters
          </button>
        </div>
      </form>

      <ErrorAlert error={assignments.error ?? lookups.error} />
      <Status>{message || (assignments.loading || count === 0 ? '' : `Showing ${count} assignment${count === 1 ? '' : 's'}.`)}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {assignments.data && count === 0 ? (
          <p className="empty">No assignments match.</p>
        ) : (
          <DataList label="Role assignments" rows={items} columns={columns} busy={assignments.loading} />
        )}
      </div>

      <ConfirmDialog
        open={removing !== null}
        title="Remove assignment"
        confirmLabel="Remove"
        busy={removal.busy}
        error={removal.error}
        onConfirm={() => void confirmRemove()}
        onCancel={() => setRemoving(null)}
      >
        <p>
          Take the role {removing && lookups.roleName(removing.role_id)} ({removing && lookups.scopeName(removing.unit_id)}) away from{' '}
          {removing && userLabel(removing.user_id)}? Their sessions lose it at once.
        </p>
      </ConfirmDialog>
    </>
  );
}

function AssignForm({
  users,
  usersUnavailable,
  roles,
  units,
  onSubmit,
  onCancel,
}: {
  users: User[];
  usersUnavailable: boolean;
  roles: Option[];
  units: Option[];
  onSubmit: (input: { user_id: string; role_id: string; unit_id: string | null }) => Promise<void>;
  onCancel: () => void;
}) {
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const userId = String(data.get('user_id') ?? '').trim();
    const roleId = String(data.get('role_id') ?? '');
    const unitId = String(data.get('unit_id') ?? WHOLE_ORGANIZATION);
    if (!userId) return setError(new InputError('Choose a user.'));
    if (!roleId) return setError(new InputError('Choose a role.'));
    await run(async () => {
      await onSubmit({ user_id: userId, role_id: roleId, unit_id: unitId || null });
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      {usersUnavailable ? (
        <TextField label="User id" name="user_id" autoComplete="off" spellCheck={false} hint="The user list could not be loaded; enter the user's id." />
      ) : (
        <SelectField
          label="User"
          name="user_id"
          options={[{ value: '', label: 'Choose a user' }, ...users.map((u) => ({ value: u.id, label: u.name ? `${u.name} (${u.email})` : u.email }))]}
          required
        />
      )}
      <SelectField label="Role" name="role_id" options={[{ value: '', label: 'Choose a role' }, ...roles]} required />
      <SelectField
        label="Where"
        name="unit_id"
        options={[{ value: WHOLE_ORGANIZATION, label: 'Whole organization' }, ...units]}
        hint="In one unit, the role holds for that unit's records only."
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Assigning…' : 'Assign role'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
