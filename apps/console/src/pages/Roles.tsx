import { useId, useRef, useState, type FormEvent } from 'react';
import { api, InputError, type CatalogPermission, type Me, type Role, type RoleInput } from '../api';
import { useLoaded } from '../paged';
import { can } from '../screens';
import { ConfirmDialog, DataList, Dialog, ErrorAlert, FormPanel, PageHeading, Status, TextField, type Column } from '../components/ui';
import { useAction } from '../components/useAction';

/** Tenant roles: the default ones (fixed) and custom roles composed from the permission catalog. */
export function Roles({ me, tenantId }: { me: Me; tenantId: string }) {
  const roles = useLoaded(() => api.listRoles(tenantId), tenantId);
  const catalog = useLoaded(() => api.catalog(), 'catalog');
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Role | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const deletion = useAction();
  const [message, setMessage] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const manage = can(me, 'roles.manage');

  const permissions = (catalog.data?.items ?? []).filter((p) => p.plane === 'tenant');
  const described = new Map(permissions.map((p) => [p.key, p.description]));
  const items = roles.data?.items ?? [];

  async function confirmDelete() {
    if (!deleting) return;
    await deletion.run(async () => {
      await api.deleteRole(tenantId, deleting.id);
      setMessage(`Role “${deleting.name}” deleted.`);
      setDeleting(null);
      roles.reload();
      listRef.current?.focus();
    });
  }

  const columns: Column<Role>[] = [
    {
      label: 'Role',
      render: (r) => (
        <>
          {r.name} {r.key !== null && <span className="badge">default</span>}
        </>
      ),
    },
    { label: 'Description', render: (r) => r.description || defaultDescription(r) },
    {
      label: 'Permissions',
      render: (r) => (
        <details className="permissions">
          <summary>
            {r.permissions.length} permission{r.permissions.length === 1 ? '' : 's'}
            <span className="visually-hidden"> of {r.name}</span>
          </summary>
          <ul className="permissions__list">
            {r.permissions.map((key) => (
              <li key={key}>
                <code>{key}</code> {described.get(key)}
              </li>
            ))}
          </ul>
        </details>
      ),
    },
  ];
  if (manage) {
    columns.push({
      label: 'Actions',
      render: (r) =>
        r.key === null ? (
          <div className="row-actions">
            <button type="button" className="button button--small" onClick={() => setEditing(r)}>
              Edit<span className="visually-hidden"> {r.name}</span>
            </button>
            <button
              type="button"
              className="button button--small button--danger-outline"
              onClick={() => {
                deletion.setError(null);
                setDeleting(r);
              }}
            >
              Delete<span className="visually-hidden"> {r.name}</span>
            </button>
          </div>
        ) : (
          <span className="muted">Fixed</span>
        ),
    });
  }

  return (
    <>
      <div className="page-head">
        <PageHeading>Roles</PageHeading>
        {manage && (
          <FormPanel label="New role" heading="New role" open={creating} onOpenChange={setCreating}>
            <RoleForm
              catalog={permissions}
              held={me.permissions}
              submitLabel="Create role"
              onCancel={() => setCreating(false)}
              onSubmit={async (input) => {
                const created = await api.createRole(tenantId, input);
                setCreating(false);
                setMessage(`Role “${created.name}” created with ${created.permissions.length} permissions.`);
                roles.reload();
              }}
            />
          </FormPanel>
        )}
      </div>
      <p className="intro">
        Default roles come with every organization and cannot be changed. Custom roles hold the catalog permissions you choose.
      </p>
      <ErrorAlert error={roles.error ?? catalog.error} />
      <Status>{message}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        <DataList label="Roles" rows={items} columns={columns} busy={roles.loading} />
      </div>

      <Dialog open={editing !== null} title={`Edit role ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing && (
          <RoleForm
            catalog={permissions}
            held={me.permissions}
            role={editing}
            submitLabel="Save role"
            onCancel={() => setEditing(null)}
            onSubmit={async (input) => {
              const saved = await api.updateRole(tenantId, editing.id, { ...input, version: editing.version });
              setEditing(null);
              setMessage(`Role “${saved.name}” saved.`);
              roles.reload();
            }}
          />
        )}
      </Dialog>

      <ConfirmDialog
        open={deleting !== null}
        title="Delete role"
        confirmLabel="Delete role"
        busy={deletion.busy}
        error={deletion.error}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Delete the role “{deleting?.name}”? A role that is still assigned cannot be deleted; remove its assignments first.
        </p>
      </ConfirmDialog>
    </>
  );
}

function defaultDescription(role: Role): string {
  const known: Record<string, string> = {
    owner: 'Everything in the organization, including the plan',
    admin: 'Everything except the plan',
    member: 'Everyday work with customers and orders',
    readonly: 'Reads customers, orders and units',
    auditor: 'Reads and exports the audit log; reads users, roles and units',
  };
  return (role.key && known[role.key]) || '';
}

/** Groups catalog permissions by their area (the part before the first dot). */
function groupByArea(catalog: CatalogPermission[]): [string, CatalogPermission[]][] {
  const groups = new Map<string, CatalogPermission[]>();
  for (const p of catalog) {
    const area = p.key.split('.')[0] ?? p.key;
    groups.set(area, [...(groups.get(area) ?? []), p]);
  }
  return [...groups];
}

/** Name, description and a checkbox per tenant permission of the catalog, grouped by area. */
function RoleForm({
  catalog,
  held,
  role,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  catalog: CatalogPermission[];
  held: string[];
  role?: Role;
  submitLabel: string;
  onSubmit: (input: RoleInput) => Promise<void>;
  onCancel: () => void;
}) {
  const { busy, error, setError, run } = useAction();
  const hintId = useId();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const name = String(data.get('name') ?? '').trim();
    const description = String(data.get('description') ?? '').trim();
    const permissions = data.getAll('permission').map(String);
    if (!name) return setError(new InputError('Enter a name for the role.'));
    if (permissions.length === 0) return setError(new InputError('Choose at least one permission.'));
    await run(async () => {
      await onSubmit({ name, permissions, ...(description || role ? { description } : {}) });
    });
  }

  const selected = new Set(role?.permissions ?? []);
  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <TextField label="Name" name="name" defaultValue={role?.name ?? ''} maxLength={100} autoComplete="off" />
      <TextField label="Description" name="description" optional defaultValue={role?.description ?? ''} maxLength={500} autoComplete="off" />
      <fieldset className="fieldset" aria-describedby={hintId}>
        <legend>Permissions</legend>
        <p id={hintId} className="hint">
          You can grant only permissions you hold in the whole organization. Sensitive permissions need a recent second factor when used.
        </p>
        {groupByArea(catalog).map(([area, permissions]) => (
          <div key={area} className="permission-group" role="group" aria-label={areaLabel(area)}>
            <p className="permission-group__title" aria-hidden="true">
              {areaLabel(area)}
            </p>
            {permissions.map((p) => (
              <label key={p.key} className="check">
                <input type="checkbox" name="permission" value={p.key} defaultChecked={selected.has(p.key)} />
                <span>
                  {p.description} <code>{p.key}</code>
                  {p.sensitive && <span className="badge badge--sensitive">sensitive</span>}
                  {!held.includes(p.key) && <span className="muted"> (you do not hold it)</span>}
                </span>
              </label>
            ))}
          </div>
        ))}
      </fieldset>
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function areaLabel(area: string): string {
  return area.charAt(0).toUpperCase() + area.slice(1);
}
