// Hooks the pages share: URL-held filters, data loading, polling, session.
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorMessage } from './api';
import { decodeQuery, encodeQuery, withQuery, type Schema, type Values } from './lib/query';
import type { Me, Role } from './lib/types';
import { navigate, useLocation } from './router';

/** useFilters reads a page's filters from the query string and writes changes back (replacing the history entry). */
export function useFilters<S extends Schema>(schema: S): [Values<S>, (patch: Partial<Values<S>>, opts?: { push?: boolean }) => void] {
  const loc = useLocation();
  const values = useMemo(() => decodeQuery(schema, loc.search), [loc.search]);
  const set = useCallback((patch: Partial<Values<S>>, opts: { push?: boolean } = {}) => {
    const next = { ...decodeQuery(schema, window.location.search), ...patch };
    navigate(withQuery(window.location.pathname, encodeQuery(schema, next, window.location.search)), { replace: !opts.push });
  }, []);
  return [values, set];
}

export interface Loaded<T> {
  data: T | undefined;
  error: string;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

/** useLoad runs a loader when its key changes; reload runs it again. Answers of superseded runs are dropped. */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (key == null) return;
    const ctl = new AbortController();
    setLoading(true);
    loadRef.current(ctl.signal).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError('');
        setLoading(false);
      },
      (e) => {
        if (ctl.signal.aborted || (e as Error).name === 'AbortError') return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** usePoll calls f every ms milliseconds while the page is visible. */
export function usePoll(f: () => void, ms: number, enabled = true): void {
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => {
    if (!enabled) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    const vis = () => document.visibilityState === 'visible' && ref.current();
    document.addEventListener('visibilitychange', vis);
    return () => {
      window.clearInterval(id);
      document.removeEventListener('visibilitychange', vis);
    };
  }, [ms, enabled]);
}

export interface Session {
  me: Me;
  logout: () => void;
  refresh: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

const rank: Record<string, number> = { viewer: 1, analyst: 2, admin: 3 };

/** roleAllows says whether a role may do what needs another; a server without authentication allows everything. */
export function roleAllows(me: Me, need: Role): boolean {
  if (!me.auth_enabled) return true;
  return (rank[me.role] ?? 0) >= (rank[need] ?? 99);
}

/** useCan says whether the signed-in principal holds a role (the server enforces it anyway). */
export function useCan(need: Role): boolean {
  return roleAllows(useSession().me, need);
}

export interface Toast {
  id: number;
  text: string;
  kind: 'ok' | 'error';
  action?: { label: string; run: () => void };
}

type ToastFn = (text: string, kind?: Toast['kind'], action?: Toast['action']) => void;
export const ToastContext = createContext<ToastFn>(() => {});
export function useToast(): ToastFn {
  return useContext(ToastContext);
}

/** useTitle sets the document title. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · tracehound` : 'tracehound';
  }, [title]);
}

/** useNow re-renders every ms milliseconds, for relative times. */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}
