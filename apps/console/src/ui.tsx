import { useEffect, useRef, useSyncExternalStore, type ReactNode, type RefObject } from 'react';
import { errorMessage } from './api';

/**
 * Live error region. The role="alert" container is always rendered so screen readers
 * reliably announce text inserted into it; it is only styled when it has content.
 */
export function ErrorAlert({ error, id }: { error: unknown; id?: string }) {
  const msg = error ? errorMessage(error) : null;
  return (
    <div role="alert" id={id} className={msg ? 'alert' : 'alert alert--empty'}>
      {msg && (
        <>
          <strong className="alert__title">{msg.title}</strong>
          {msg.detail && <span className="alert__detail">{msg.detail}</span>}
        </>
      )}
    </div>
  );
}

/** Polite status region for non-error announcements ("Customer added", result counts). */
export function Status({ children }: { children?: ReactNode }) {
  return (
    <p role="status" className="status">
      {children}
    </p>
  );
}

/** Page heading that receives focus when the page is shown (focus management on navigation). */
export function PageHeading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1} className="page-title">
      {children}
    </h1>
  );
}

export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const mql = window.matchMedia(query);
      mql.addEventListener('change', onChange);
      return () => mql.removeEventListener('change', onChange);
    },
    () => window.matchMedia(query).matches,
    () => false,
  );
}

/** Wide layout (tables) from 40rem / 640px; narrower screens get cards. */
export const WIDE = '(min-width: 40rem)';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
}

export function Time({ iso }: { iso: string }) {
  return <time dateTime={iso}>{formatDate(iso)}</time>;
}

export interface Column<T> {
  label: string;
  render: (row: T) => ReactNode;
}

/**
 * Responsive collection: a table on wide screens, a list of cards on narrow ones.
 * The first column is used as the card title.
 */
export function DataList<T extends { id: string }>({
  label,
  rows,
  columns,
  busy,
}: {
  label: string;
  rows: T[];
  columns: Column<T>[];
  busy: boolean;
}) {
  const wide = useMediaQuery(WIDE);
  const [first, ...rest] = columns;
  if (!first) return null;
  if (wide) {
    return (
      <div className="table-wrap" aria-busy={busy}>
        <table className="table">
          <caption className="visually-hidden">{label}</caption>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.label} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <th scope="row">{first.render(row)}</th>
                {rest.map((c) => (
                  <td key={c.label}>{c.render(row)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <ul className="cards" aria-label={label} aria-busy={busy}>
      {rows.map((row) => (
        <li key={row.id} className="card">
          <h2 className="card__title">{first.render(row)}</h2>
          <dl className="card__fields">
            {rest.map((c) => (
              <div key={c.label} className="card__field">
                <dt>{c.label}</dt>
                <dd>{c.render(row)}</dd>
              </div>
            ))}
          </dl>
        </li>
      ))}
    </ul>
  );
}

/** Muted placeholder for empty values; screen readers hear "None". */
export function None() {
  return (
    <span className="muted">
      <span aria-hidden="true">—</span>
      <span className="visually-hidden">None</span>
    </span>
  );
}

/**
 * "Load more" button for cursor pagination. When the last page has been loaded the button
 * disappears, so focus moves to `focusAfterEnd` instead of being lost.
 */
export function LoadMore({
  hasMore,
  loading,
  onLoadMore,
  focusAfterEnd,
}: {
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
  focusAfterEnd: RefObject<HTMLElement | null>;
}) {
  const clicked = useRef(false);
  useEffect(() => {
    if (!hasMore && clicked.current) focusAfterEnd.current?.focus();
    if (!hasMore) clicked.current = false;
  }, [hasMore, focusAfterEnd]);
  if (!hasMore) return null;
  return (
    <button
      type="button"
      className="button button--load-more"
      aria-disabled={loading || undefined}
      onClick={() => {
        if (loading) return;
        clicked.current = true;
        onLoadMore();
      }}
    >
      {loading ? 'Loading…' : 'Load more'}
    </button>
  );
}
