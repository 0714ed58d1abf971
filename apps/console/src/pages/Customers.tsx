import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, type Customer, type NewCustomer } from '../api';
import { useAction } from '../components/useAction';
import { usePaged } from '../paged';
import { DataList, ErrorAlert, LoadMore, None, PageHeading, Status, Time, type Column } from '../components/ui';

const columns: Column<Customer>[] = [
  { label: 'Name', render: (c) => c.name },
  { label: 'Email', render: (c) => (c.email ? <a href={`mailto:${c.email}`}>{c.email}</a> : <None />) },
  { label: 'Phone', render: (c) => (c.phone ? <a href={`tel:${c.phone}`}>{c.phone}</a> : <None />) },
  { label: 'Created', render: (c) => <Time iso={c.created_at} /> },
];

/** Tenant users: searchable, paginated customer list with an "Add customer" form. */
export function Customers({ tenantId }: { tenantId: string }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [added, setAdded] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const searchId = useId();

  const list = usePaged(
    (cursor) => api.listCustomers(tenantId, { ...(cursor ? { cursor } : {}), ...(query ? { q: query } : {}) }),
    `${tenantId}\u0000${query}`,
  );

  // Search as you type (debounced); submitting the form searches immediately.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(t);
  }, [search]);

  // A new search replaces the list, so the "added" confirmation no longer applies.
  useEffect(() => setAdded(''), [query]);

  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setQuery(search.trim());
  }

  const count = list.items.length;
  const summary = !list.loaded || list.loading
    ? ''
    : count === 0
      ? ''
      : `Showing ${count} customer${count === 1 ? '' : 's'}${query ? ` matching “${query}”` : ''}${list.hasMore ? ', more available' : ''}.`;

  return (
    <>
      <div className="page-head">
        <PageHeading>Customers</PageHeading>
        <AddCustomer
          tenantId={tenantId}
          onCreated={(c) => {
            list.prepend(c);
            setAdded(`Customer “${c.name}” added.`);
          }}
        />
      </div>

      <form role="search" aria-label="Customers" className="search" onSubmit={onSearch}>
        <label htmlFor={searchId} className="visually-hidden">
          Search customers
        </label>
        <input
          id={searchId}
          type="search"
          name="q"
          placeholder="Name, email or phone"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          autoComplete="off"
        />
        <button type="submit" className="button">
          Search
        </button>
      </form>

      <ErrorAlert error={list.error} />
      <Status>{added ? `${added} ${summary}` : summary}</Status>

      <div ref={listRef} tabIndex={-1} className="list-region">
        {list.loaded && count === 0 && !list.error ? (
          <p className="empty">{query ? `No customers match “${query}”.` : 'No customers yet. Add your first customer.'}</p>
        ) : (
          <DataList label="Customers" rows={list.items} columns={columns} busy={list.loading} />
        )}
      </div>
      <LoadMore hasMore={list.hasMore} loading={list.loading} onLoadMore={list.loadMore} focusAfterEnd={listRef} />
    </>
  );
}

function AddCustomer({ tenantId, onCreated }: { tenantId: string; onCreated: (c: Customer) => void }) {
  const [open, setOpen] = useState(false);
  const { busy, error, setError, run } = useAction();
  const toggleRef = useRef<HTMLButtonElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const ids = { form: useId(), heading: useId(), name: useId(), email: useId(), phone: useId() };

  useEffect(() => {
    if (open) nameRef.current?.focus();
  }, [open]);

  function close() {
    setOpen(false);
    setError(null);
    toggleRef.current?.focus();
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy) return;
    const form = e.currentTarget;
    const data = new FormData(form);
    const input: NewCustomer = { name: String(data.get('name') ?? '').trim() };
    const email = String(data.get('email') ?? '').trim();
    const phone = String(data.get('phone') ?? '').trim();
    if (email) input.email = email;
    if (phone) input.phone = phone;
    if (!input.name) {
      setError(new Error('Enter a name.'));
      nameRef.current?.focus();
      return;
    }
    void run(async () => {
      const created = await api.createCustomer(tenantId, input);
      form.reset();
      onCreated(created);
      close();
    });
  }

  return (
    <>
      <button
        ref={toggleRef}
        type="button"
        className="button button--primary"
        aria-expanded={open}
        aria-controls={ids.form}
        onClick={() => (open ? close() : setOpen(true))}
      >
        Add customer
      </button>
      <section id={ids.form} className="panel add-customer" aria-labelledby={ids.heading} hidden={!open}>
        <h2 id={ids.heading}>New customer</h2>
        <form className="form" onSubmit={onSubmit}>
          <ErrorAlert error={error} />
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} ref={nameRef} name="name" type="text" autoComplete="off" required maxLength={200} />
          </div>
          <div className="field">
            <label htmlFor={ids.email}>
              Email <span className="optional">(optional)</span>
            </label>
            <input id={ids.email} name="email" type="email" autoComplete="off" inputMode="email" maxLength={320} />
          </div>
          <div className="field">
            <label htmlFor={ids.phone}>
              Phone <span className="optional">(optional)</span>
            </label>
            <input id={ids.phone} name="phone" type="tel" autoComplete="off" maxLength={50} />
          </div>
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Saving…' : 'Save customer'}
            </button>
            <button type="button" className="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      </section>
    </>
  );
}
