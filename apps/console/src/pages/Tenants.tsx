import { useRef } from 'react';
import { api, type Tenant } from '../api';
import { usePaged } from '../paged';
import { DataList, ErrorAlert, LoadMore, PageHeading, Status, Time, type Column } from '../ui';

const columns: Column<Tenant>[] = [
  { label: 'Name', render: (t) => t.name },
  { label: 'Slug', render: (t) => <code>{t.slug}</code> },
  { label: 'Plan', render: (t) => t.plan },
  { label: 'Region', render: (t) => t.region },
  { label: 'Status', render: (t) => <span className={`badge badge--${t.status}`}>{t.status}</span> },
  { label: 'Created', render: (t) => <Time iso={t.created_at} /> },
];

/** Platform operators: all tenants. */
export function Tenants() {
  const list = usePaged((cursor) => api.listTenants(cursor ? { cursor } : {}), 'tenants');
  const listRef = useRef<HTMLDivElement>(null);

  return (
    <>
      <PageHeading>Tenants</PageHeading>
      <ErrorAlert error={list.error} />
      <Status>{list.loaded && !list.loading ? `Showing ${list.items.length} tenant${list.items.length === 1 ? '' : 's'}.` : ''}</Status>
      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && list.items.length === 0 && !list.error ? (
          <p className="empty">No tenants yet.</p>
        ) : (
          <DataList label="Tenants" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />
    </>
  );
}
