// A small router over the History API: the path picks the page, the query
// string holds the page's filters (so views can be shared), and links are
// plain <a href> that navigate without reloading.
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  path: string;
  search: string;
}

type Listener = (l: Location) => void;
const listeners = new Set<Listener>();

function current(): Location {
  return { path: window.location.pathname, search: window.location.search };
}

function emit(): void {
  const l = current();
  for (const f of listeners) f(l);
}

/**
 * appPath resolves url against base and returns its path, query and hash
 * when it stays on base's origin, or "/" when it would leave it (a crafted
 * "//evil.example" or "/\\evil.example" must not take the user away).
 */
export function appPath(url: string, base: string): string {
  let target: URL;
  try {
    target = new URL(url, base);
  } catch {
    return '/';
  }
  if (target.origin !== new URL(base).origin) return '/';
  return target.pathname + target.search + target.hash;
}

/** navigate goes to a URL inside the app; replace keeps the history entry (filter edits). */
export function navigate(url: string, opts: { replace?: boolean } = {}): void {
  const next = appPath(url, window.location.href);
  if (next === window.location.pathname + window.location.search + window.location.hash) return;
  if (opts.replace) history.replaceState(null, '', next);
  else history.pushState(null, '', next);
  emit();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** useLocation re-renders on navigation. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const f = (l: Location) => setLoc(l);
    listeners.add(f);
    const pop = () => emit();
    window.addEventListener('popstate', pop);
    return () => {
      listeners.delete(f);
      window.removeEventListener('popstate', pop);
    };
  }, []);
  return loc;
}

/** match tests a path against a pattern with :params ("/traces/:id"). */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(':')) params[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return params;
}

/** linkClick lets <a href> navigate inside the app; modified clicks open tabs as usual. */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element).closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href || href.startsWith('#') || /^[a-z]+:/i.test(href) || href.startsWith('/api/')) return;
  e.preventDefault();
  navigate(href);
}
