import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { ErrorAlert, Status } from './ui';
import { useAction } from './useAction';

/**
 * One organization setting: loads the current value, saves it, and keeps what to announce (a
 * status message after a save, the problem of a refused one). A refused save changes nothing, so
 * the form keeps what the user typed.
 */
export function useSetting<T>(load: () => Promise<T>) {
  const [value, setValue] = useState<T | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const { busy, error, run } = useAction();
  /** Changes after each save, so the form is drawn again from the saved value. */
  const [saves, setSaves] = useState(0);

  useEffect(() => {
    let cancelled = false;
    load().then(
      (loaded) => !cancelled && setValue(loaded),
      (err: unknown) => !cancelled && setLoadError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [load]);

  /** Runs `build` (which may throw an InputError) and saves its result; nothing is sent when it throws. */
  const save = useCallback(
    async (build: () => Promise<T>, saved: (value: T) => string) => {
      setStatus('');
      await run(async () => {
        const next = await build();
        setValue(next);
        setSaves((n) => n + 1);
        setStatus(saved(next));
      });
    },
    [run],
  );

  return { value, error: error ?? loadError, status, busy, saves, save };
}

/** A titled panel holding one setting's form, with its status and alert regions. */
export function SettingsSection({
  title,
  saveLabel,
  description,
  status,
  error,
  busy,
  formKey,
  onSubmit,
  children,
}: {
  title: string;
  saveLabel: string;
  description: string;
  status: string;
  error: unknown;
  busy: boolean;
  formKey: number;
  onSubmit: (data: FormData) => void;
  children: ReactNode;
}) {
  const headingId = useId();
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!busy) onSubmit(new FormData(e.currentTarget));
  }
  return (
    <section className="panel account-section" aria-labelledby={headingId}>
      <h2 id={headingId} className="section-title">
        {title}
      </h2>
      <p className="intro">{description}</p>
      <Status>{status}</Status>
      <ErrorAlert error={error} />
      {children !== null && (
        // The checks are the console's own (with their messages in the alert), not the browser's.
        <form key={formKey} className="form" noValidate aria-label={title} onSubmit={submit}>
          {children}
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              {busy ? 'Saving…' : saveLabel}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
