import { useCallback, useEffect, useRef, useState } from 'react';
import type { Page } from './api';

interface PagedState<T> {
  items: T[];
  cursor: string | null;
  loading: boolean;
  loaded: boolean;
  error: unknown;
}

/**
 * Cursor pagination state. `key` restarts from the first page when it changes (e.g. a new search).
 * Responses that arrive after a newer request was started are ignored.
 */
export function usePaged<T extends { id: string }>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  key: string,
) {
  const [state, setState] = useState<PagedState<T>>({ items: [], cursor: null, loading: true, loaded: false, error: null });
  const seq = useRef(0);
  const fetchRef = useRef(fetchPage);
  useEffect(() => {
    fetchRef.current = fetchPage;
  });

  const run = useCallback((cursor: string | undefined) => {
    const id = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    fetchRef.current(cursor).then(
      (page) => {
        if (id !== seq.current) return;
        setState((s) => {
          let items = page.items;
          if (cursor) {
            const seen = new Set(s.items.map((i) => i.id));
            items = [...s.items, ...page.items.filter((i) => !seen.has(i.id))];
          }
          return { items, cursor: page.next_cursor, loading: false, loaded: true, error: null };
        });
      },
      (error: unknown) => {
        if (id !== seq.current) return;
        setState((s) => ({ ...s, loading: false, loaded: true, error }));
      },
    );
  }, []);

  useEffect(() => {
    run(undefined);
  }, [run, key]);

  const loadMore = useCallback(() => {
    if (state.cursor && !state.loading) run(state.cursor);
  }, [run, state.cursor, state.loading]);

  const prepend = useCallback((item: T) => {
    setState((s) => ({ ...s, items: [item, ...s.items.filter((i) => i.id !== item.id)] }));
  }, []);

  return { ...state, hasMore: state.cursor !== null, loadMore, prepend, reload: () => run(undefined) };
}

/**
 * One request's result (lists without pagination, lookups). `key` reloads when it changes;
 * an answer that arrives after a newer request was started is ignored.
 */
export function useLoaded<T>(load: () => Promise<T>, key: string) {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const run = useCallback(() => {
    const id = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    loadRef.current().then(
      (data) => id === seq.current && setState({ data, error: null, loading: false }),
      (error: unknown) => id === seq.current && setState((s) => ({ ...s, error, loading: false })),
    );
  }, []);
  useEffect(() => {
    run();
  }, [run, key]);
  return { ...state, reload: run };
}
