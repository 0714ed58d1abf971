import { useRef, useState, type FormEvent } from 'react';
import { api, InputError, REGIONS, type AuditEvent, type AuditFilters, type Me } from '../api';
import { useAction } from '../components/useAction';
import { useLoaded, usePaged } from '../paged';
import { can } from '../screens';
import { Badge, DataList, DateTime, ErrorAlert, LoadMore, PageHeading, SelectField, Status, TextField, type Column, type Option } from '../components/ui';

const choices = (label: string, values: readonly string[]): Option[] => [{ value: '', label }, ...values.map((v) => ({ value: v, label: v }))];

const OUTCOMES = choices('Any outcome', ['success', 'failure', 'denied']);
const CATEGORIES: Option[] = [
  { value: '', label: 'Audit and security events' },
  { value: 'audit', label: 'Audit events' },
  { value: 'security', label: 'Security events' },
];
const SEVERITIES = choices('Any severity', ['info', 'low', 'medium', 'high', 'critical']);
const ACTOR_TYPES = choices('Any kind', ['user', 'operator', 'system', 'anonymous', 'api_key']);

const TEXT_FILTERS = ['action', 'actor_id', 'actor_type', 'resource_type', 'resource_id', 'outcome', 'category', 'severity', 'correlation_id', 'tenant', 'region'] as const;

/**
 * The audit log (FR-AUD-001, FR-LOG-002): a tenant's own log, or for platform auditors every log.
 * Filters apply to the list and to the CSV download alike.
 */
export function Audit({ me }: { me: Me }) {
  const tenantId = me.tenant_id;
  const platform = tenantId === null;
  const mayExport = can(me, platform ? 'platform.audit.export' : 'audit.export');
  const [filters, setFilters] = useState<AuditFilters>({});
  const [filterError, setFilterError] = useState<unknown>(null);
  const download = useAction();
  const [message, setMessage] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const filterKey = JSON.stringify(filters);
  const list = usePaged((cursor) => api.listAuditEvents(tenantId, filters, cursor), `${tenantId ?? 'platform'}\u0000${filterKey}`);
  const tenants = useLoaded(
    () => (platform && can(me, 'platform.tenants.read') ? api.listTenants({ limit: 200 }) : Promise.resolve({ items: [], next_cursor: null })),
    'tenants',
  );
  // Names for the user ids of the tenant's log, when the reader may list users.
  const users = useLoaded(
    () => (tenantId && can(me, 'users.read') ? api.listUsers(tenantId, { limit: 200 }) : Promise.resolve({ items: [], next_cursor: null })),
    tenantId ?? '',
  );
  const emails = new Map((users.data?.items ?? []).map((u) => [u.id, u.email]));

  function applyFilters(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    // The choices of the form are the API's values.
    const next: Record<string, string> = {};
    for (const key of TEXT_FILTERS) {
      const value = String(data.get(key) ?? '').trim();
      if (value) next[key] = value;
    }
    for (const key of ['from', 'to'] as const) {
      const value = String(data.get(key) ?? '');
      if (!value) continue;
      const at = new Date(value);
      if (Number.isNaN(at.getTime())) return setFilterError(new InputError(`The “${key}” date is not valid.`));
      next[key] = at.toISOString();
    }
    setFilterError(null);
    setMessage('');
    setFilters(next as AuditFilters);
  }

  function clearFilters(form: HTMLFormElement | null) {
    form?.reset();
    setFilterError(null);
    setMessage('');
    setFilters({});
  }

  async function downloadCsv() {
    if (download.busy) return;
    setMessage('');
    await download.run(async () => {
      const { blob, filename } = await api.exportAuditEvents(tenantId, filters);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setMessage(`Downloaded ${filename}.`);
    });
  }

  const tenantNames = new Map((tenants.data?.items ?? []).map((t) => [t.id, t.slug]));
  const columns: Column<AuditEvent>[] = [
    { label: 'Action', render: (e) => <code className="action">{e.action}</code> },
    { label: 'When', render: (e) => <DateTime iso={e.occurred_at} /> },
    { label: 'Actor', render: (e) => <Actor event={e} me={me} emails={emails} /> },
    {
      label: 'Resource',
      render: (e) =>
        e.resource_type ? (
          <>
            {e.resource_type}{' '}
            {e.resource_id && (e.resource_type === 'user' && emails.has(e.resource_id) ? emails.get(e.resource_id) : <code className="wrap">{e.resource_id}</code>)}
          </>
        ) : (
          <span className="muted">None</span>
        ),
    },
    {
      label: 'Outcome',
      render: (e) => (
        <>
          <Badge value={e.outcome} /> {(e.category === 'security' || e.severity !== 'info') && <Badge value={e.severity} />}
        </>
      ),
    },
    { label: 'Details', render: (e) => <EventDetails event={e} tenant={platform ? (e.tenant_id ? (tenantNames.get(e.tenant_id) ?? e.tenant_id) : 'platform') : null} /> },
  ];

  const tenantOptions: Option[] = [
    { value: '', label: 'Every log' },
    { value: 'platform', label: 'The platform log' },
    ...(tenants.data?.items ?? []).map((t) => ({ value: t.id, label: `${t.name} (${t.slug})` })),
  ];
  const count = list.items.length;
  const filtered = Object.keys(filters).length > 0;
  const summary = list.loading || !list.loaded || count === 0 ? '' : `Showing ${count} event${count === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}${list.hasMore ? ', more available' : ''}.`;

  return (
    <>
      <div className="page-head">
        <PageHeading>Audit log</PageHeading>
        {mayExport && (
          <button type="button" className="button button--primary" onClick={() => void downloadCsv()} aria-disabled={download.busy || undefined}>
            {download.busy ? 'Preparing CSV…' : 'Download CSV'}
          </button>
        )}
      </div>
      <p className="intro">
        Newest first. {mayExport ? 'The CSV holds every event matching the filters, and the download is itself recorded.' : ''}
      </p>

      <form className="filters" aria-label="Filter the audit log" onSubmit={applyFilters}>
        <TextField label="Action" name="action" optional autoComplete="off" spellCheck={false} hint="For example auth.login, or auth.* for every sign-in event." />
        <SelectField label="Outcome" name="outcome" options={OUTCOMES} defaultValue="" />
        <SelectField label="Kind" name="category" options={CATEGORIES} defaultValue="" />
        <SelectField label="Severity at least" name="severity" options={SEVERITIES} defaultValue="" />
        <TextField label="From" name="from" type="datetime-local" optional step={1} />
        <TextField label="Before" name="to" type="datetime-local" optional step={1} />
        {platform && <SelectField label="Log" name="tenant" options={tenantOptions} defaultValue="" />}
        {platform && <SelectField label="Region" name="region" options={choices('Every region', REGIONS)} defaultValue="" />}
        <details className="filters__more">
          <summary>More filters</summary>
          <div className="filters__grid">
            <SelectField label="Actor kind" name="actor_type" options={ACTOR_TYPES} defaultValue="" />
            <TextField label="Actor id" name="actor_id" optional autoComplete="off" spellCheck={false} />
            <TextField label="Resource type" name="resource_type" optional autoComplete="off" spellCheck={false} />
            <TextField label="Resource id" name="resource_id" optional autoComplete="off" spellCheck={false} />
            <TextField label="Correlation id" name="correlation_id" optional autoComplete="off" spellCheck={false} />
          </div>
        </details>
        <div className="filters__actions">
          <button type="submit" className="button">
            Apply filters
          </button>
          <button type="button" className="button" onClick={(e) => clearFilters(e.currentTarget.form)}>
            Clear
          </button>
        </div>
      </form>

      <ErrorAlert error={filterError ?? download.error ?? list.error} />
      <Status>{message ? `${message} ${summary}` : summary}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && count === 0 && !list.error ? (
          <p className="empty">{filtered ? 'No events match the filters.' : 'No events yet.'}</p>
        ) : (
          <DataList label="Audit events" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />
    </>
  );
}

function Actor({ event, me, emails }: { event: AuditEvent; me: Me; emails: ReadonlyMap<string, string> }) {
  if (event.actor_id === me.id) return <>{event.actor_type} (you)</>;
  const email = event.actor_id ? emails.get(event.actor_id) : undefined;
  return (
    <>
      {event.actor_type} {email ?? (event.actor_id && <code className="wrap">{event.actor_id}</code>)}
    </>
  );
}

function EventDetails({ event, tenant }: { event: AuditEvent; tenant: string | null }) {
  const metadata = Object.keys(event.metadata).length > 0 ? JSON.stringify(event.metadata, null, 2) : null;
  return (
    <details className="event-details">
      <summary>
        Details<span className="visually-hidden"> of {event.action} at {event.occurred_at}</span>
      </summary>
      <dl className="event-details__list">
        {tenant !== null && (
          <>
            <dt>Log</dt>
            <dd>{tenant}</dd>
          </>
        )}
        <dt>Kind</dt>
        <dd>
          {event.category}, severity {event.severity}
        </dd>
        <dt>Address</dt>
        <dd>{event.ip ?? '—'}</dd>
        <dt>User agent</dt>
        <dd className="wrap">{event.user_agent ?? '—'}</dd>
        <dt>Correlation id</dt>
        <dd>
          <code className="wrap">{event.correlation_id ?? '—'}</code>
        </dd>
        <dt>Sequence</dt>
        <dd>{event.seq}</dd>
        {metadata && (
          <>
            <dt>Data</dt>
            <dd>
              <pre className="metadata">{metadata}</pre>
            </dd>
          </>
        )}
      </dl>
    </details>
  );
}
