import {
  useEffect,
  useId,
  useRef,
  useSyncExternalStore,
  type InputHTMLAttributes,
  type ReactNode,
  type RefObject,
  type SelectHTMLAttributes,
} from 'react';
import { errorMessage } from '../api';

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

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFormat.format(d);
}

export function DateTime({ iso }: { iso: string }) {
  return <time dateTime={iso}>{formatDateTime(iso)}</time>;
}

/**
 * Modal dialog on the native <dialog> element: the browser traps focus, Escape cancels and the
 * rest of the page is inert. Focus goes to `initialFocus` (else the first control) on open and
 * back to the element that had it on close.
 */
export function Dialog({
  open,
  title,
  onClose,
  children,
  initialFocus,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  initialFocus?: RefObject<HTMLElement | null>;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      const target = initialFocus?.current ?? dialog.querySelector<HTMLElement>('input, select, textarea, button');
      target?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
      const back = opener.current;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    }
  }, [open, initialFocus]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={headingId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <h2 id={headingId} className="dialog__title">
            {title}
          </h2>
          {children}
        </>
      )}
    </dialog>
  );
}

/** Asks before a destructive or far-reaching action; Cancel has the focus. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog open={open} title={title} onClose={onCancel} initialFocus={cancelRef}>
      <ErrorAlert error={error} />
      <div className="dialog__body">{children}</div>
      <div className="actions">
        <button type="button" className="button button--danger" aria-disabled={busy || undefined} onClick={() => !busy && onConfirm()}>
          {busy ? 'Working…' : confirmLabel}
        </button>
        <button ref={cancelRef} type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/**
 * A button that opens a form panel below it (as "Add customer" does). Opening focuses the first
 * field; closing returns focus to the button.
 */
export function FormPanel({
  label,
  heading,
  children,
  open,
  onOpenChange,
}: {
  label: string;
  heading: string;
  children: ReactNode;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const toggleRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLElement>(null);
  const wasOpen = useRef(open);
  const ids = { panel: useId(), heading: useId() };
  useEffect(() => {
    if (open && !wasOpen.current) panelRef.current?.querySelector<HTMLElement>('input, select, textarea')?.focus();
    // The form unmounts on close, so focus that was inside it has fallen to the body.
    if (!open && wasOpen.current && (document.activeElement === document.body || panelRef.current?.contains(document.activeElement))) {
      toggleRef.current?.focus();
    }
    wasOpen.current = open;
  }, [open]);
  return (
    <>
      <button
        ref={toggleRef}
        type="button"
        className="button button--primary"
        aria-expanded={open}
        aria-controls={ids.panel}
        onClick={() => onOpenChange(!open)}
      >
        {label}
      </button>
      <section ref={panelRef} id={ids.panel} className="panel form-panel" aria-labelledby={ids.heading} hidden={!open}>
        <h2 id={ids.heading}>{heading}</h2>
        {open && children}
      </section>
    </>
  );
}

export interface Option {
  value: string;
  label: string;
}

/** Labelled text input; `hint` is read after the label. */
export function TextField({
  label,
  name,
  optional,
  hint,
  ...input
}: {
  label: string;
  name: string;
  optional?: boolean;
  hint?: string;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'name' | 'id'>) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {label} {optional && <span className="optional">(optional)</span>}
      </label>
      <input id={id} name={name} aria-describedby={hint ? hintId : undefined} required={!optional} {...input} />
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

export function SelectField({
  label,
  name,
  options,
  optional,
  hint,
  ...select
}: {
  label: string;
  name: string;
  options: Option[];
  optional?: boolean;
  hint?: string;
} & Omit<SelectHTMLAttributes<HTMLSelectElement>, 'name' | 'id'>) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        {label} {optional && <span className="optional">(optional)</span>}
      </label>
      <select id={id} name={name} aria-describedby={hint ? hintId : undefined} {...select}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

/** Status badge; the class follows the value (active, suspended, disabled, failure…). */
export function Badge({ value }: { value: string }) {
  return <span className={`badge badge--${value.replace(/[^a-z_-]/gi, '')}`}>{value}</span>;
}
