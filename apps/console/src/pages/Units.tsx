import { useRef, useState, type FormEvent } from 'react';
import { api, InputError, type Me, type Unit } from '../api';
import { useLoaded } from '../paged';
import { can } from '../screens';
import { unitOptions } from '../lookups';
import { ConfirmDialog, Dialog, ErrorAlert, FormPanel, PageHeading, SelectField, Status, TextField } from '../components/ui';
import { useAction } from '../components/useAction';

/** Organization units (sites, departments) as a tree; roles can be assigned in one unit. */
export function Units({ me, tenantId }: { me: Me; tenantId: string }) {
  const units = useLoaded(() => api.listUnits(tenantId), tenantId);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Unit | null>(null);
  const [deleting, setDeleting] = useState<Unit | null>(null);
  const deletion = useAction();
  const [message, setMessage] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const manage = can(me, 'units.manage');
  const items = units.data?.items ?? [];

  async function confirmDelete() {
    if (!deleting) return;
    await deletion.run(async () => {
      await api.deleteUnit(tenantId, deleting.id);
      setMessage(`Unit “${deleting.name}” deleted.`);
      setDeleting(null);
      units.reload();
      listRef.current?.focus();
    });
  }

  function renderLevel(parentId: string | null) {
    const children = items.filter((u) => u.parent_id === parentId).sort((a, b) => a.name.localeCompare(b.name));
    if (children.length === 0) return null;
    return (
      <ul className={parentId ? 'tree tree--nested' : 'tree'} aria-label={parentId ? undefined : 'Units'}>
        {children.map((u) => (
          <li key={u.id} className="tree__item">
            <div className="tree__row">
              <span className="tree__name">{u.name}</span>
              {manage && (
                <span className="row-actions">
                  <button type="button" className="button button--small" onClick={() => setEditing(u)}>
                    Edit<span className="visually-hidden"> {u.name}</span>
                  </button>
                  <button
                    type="button"
                    className="button button--small button--danger-outline"
                    onClick={() => {
                      deletion.setError(null);
                      setDeleting(u);
                    }}
                  >
                    Delete<span className="visually-hidden"> {u.name}</span>
                  </button>
                </span>
              )}
            </div>
            {renderLevel(u.id)}
          </li>
        ))}
      </ul>
    );
  }

  return (
    <>
      <div className="page-head">
        <PageHeading>Units</PageHeading>
        {manage && (
          <FormPanel label="New unit" heading="New unit" open={creating} onOpenChange={setCreating}>
            <UnitForm
              units={items}
              submitLabel="Create unit"
              onCancel={() => setCreating(false)}
              onSubmit={async (input) => {
                const created = await api.createUnit(tenantId, input);
                setCreating(false);
                setMessage(`Unit “${created.name}” created.`);
                units.reload();
              }}
            />
          </FormPanel>
        )}
      </div>
      <p className="intro">Units are sites or departments. A role assigned in a unit holds there only, not in its sub-units.</p>
      <ErrorAlert error={units.error} />
      <Status>{message}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region panel" aria-busy={units.loading}>
        {units.data && items.length === 0 ? <p className="empty">No units yet.</p> : renderLevel(null)}
      </div>

      <Dialog open={editing !== null} title={`Edit unit ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing && (
          <UnitForm
            units={items}
            unit={editing}
            submitLabel="Save unit"
            onCancel={() => setEditing(null)}
            onSubmit={async (input) => {
              const saved = await api.updateUnit(tenantId, editing.id, { ...input, version: editing.version });
              setEditing(null);
              setMessage(`Unit “${saved.name}” saved.`);
              units.reload();
            }}
          />
        )}
      </Dialog>

      <ConfirmDialog
        open={deleting !== null}
        title="Delete unit"
        confirmLabel="Delete unit"
        busy={deletion.busy}
        error={deletion.error}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setDeleting(null)}
      >
        <p>Delete the unit “{deleting?.name}”? Only a unit without sub-units, assignments or records can be deleted.</p>
      </ConfirmDialog>
    </>
  );
}

/** Ids of a unit and everything under it: a unit cannot move under itself. */
function subtree(units: Unit[], rootId: string): Set<string> {
  const ids = new Set([rootId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const u of units) {
      if (u.parent_id && ids.has(u.parent_id) && !ids.has(u.id)) {
        ids.add(u.id);
        grew = true;
      }
    }
  }
  return ids;
}

function UnitForm({
  units,
  unit,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  units: Unit[];
  unit?: Unit;
  submitLabel: string;
  onSubmit: (input: { name: string; parent_id: string | null }) => Promise<void>;
  onCancel: () => void;
}) {
  const { busy, error, setError, run } = useAction();
  const parents = [{ value: '', label: 'None (top level)' }, ...unitOptions(units, unit ? subtree(units, unit.id) : new Set())];

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    const name = String(data.get('name') ?? '').trim();
    const parent = String(data.get('parent_id') ?? '');
    if (!name) return setError(new InputError('Enter a name for the unit.'));
    await run(async () => {
      await onSubmit({ name, parent_id: parent || null });
    });
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <ErrorAlert error={error} />
      <TextField label="Name" name="name" defaultValue={unit?.name ?? ''} maxLength={200} autoComplete="off" />
      <SelectField label="Inside" name="parent_id" options={parents} defaultValue={unit?.parent_id ?? ''} />
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
