// Data loading for the pages: one async call per set of dependencies, cancelled when they
// change or the page goes; optional polling while the data says work is under way.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Fetch again (keeps the current data shown meanwhile). */
  reload: () => void;
}

/**
 * Run `load` when `deps` change; while `pollMs(data)` returns a number, run it again that
 * many ms after each answer (a poll never overlaps the previous one).
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs?: (data: T) => number | undefined): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const pollRef = useRef(pollMs);
  pollRef.current = pollMs;
  const depsKey = JSON.stringify(deps);
  const lastKey = useRef(depsKey);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const keyChanged = lastKey.current !== depsKey;
    lastKey.current = depsKey;
    setState((s) => ({ data: keyChanged ? undefined : s.data, error: undefined, loading: true }));
    let last: T | undefined;
    const run = (): void => {
      loadRef.current(controller.signal).then(
        (data) => {
          if (controller.signal.aborted) return;
          last = data;
          setState({ data, error: undefined, loading: false });
          const ms = pollRef.current?.(data);
          if (ms !== undefined) timer = setTimeout(run, ms);
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setState((s) => ({ data: s.data, error, loading: false }));
          // A poll that fails (a server restart, a dropped connection) keeps polling.
          const ms = last !== undefined ? pollRef.current?.(last) : undefined;
          if (ms !== undefined) timer = setTimeout(run, ms);
        },
      );
    };
    run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [depsKey, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
