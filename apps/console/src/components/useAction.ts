import { useCallback, useRef, useState } from 'react';

/**
 * The state of one action a page sends (a save, a delete, a sign-in): `run(work)` does nothing
 * while the action is busy, clears the last error, and keeps the error the work throws for the
 * page's alert, then calls `onError` (to move the focus, say). It resolves whether the work
 * succeeded. With `leaves`, the work ends by leaving the page (a full-page navigation): busy stays
 * on after it succeeds, so nothing is sent twice meanwhile.
 */
export function useAction({ leaves = false }: { leaves?: boolean } = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const running = useRef(false);

  const run = useCallback(
    async (work: () => Promise<void>, onError?: (err: unknown) => void): Promise<boolean> => {
      if (running.current) return false;
      running.current = true;
      setBusy(true);
      setError(null);
      let succeeded = false;
      try {
        await work();
        succeeded = true;
      } catch (err) {
        setError(err);
        onError?.(err);
      }
      if (!succeeded || !leaves) {
        running.current = false;
        setBusy(false);
      }
      return succeeded;
    },
    [leaves],
  );

  return { busy, error, setError, run };
}
