// The theme follows the system (prefers-color-scheme) unless the user picks
// light or dark; the choice is kept in localStorage.
export type ThemeChoice = 'system' | 'light' | 'dark';

const key = 'tracehound.theme';

export function loadTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(key);
    if (v === 'light' || v === 'dark') return v;
  } catch { /* storage disabled */ }
  return 'system';
}

export function applyTheme(t: ThemeChoice): void {
  const root = document.documentElement;
  if (t === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', t);
  try {
    if (t === 'system') localStorage.removeItem(key);
    else localStorage.setItem(key, t);
  } catch { /* storage disabled */ }
}

/** effectiveTheme is what is shown: the choice, or the system's. */
export function effectiveTheme(t: ThemeChoice): 'light' | 'dark' {
  if (t !== 'system') return t;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
