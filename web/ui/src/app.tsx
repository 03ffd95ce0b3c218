// The console's shell: session, navigation and the page for the URL.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, onSessionLost, setSession } from './api';
import { Button, Spinner } from './components/ui';
import { SessionContext, ToastContext, usePoll, type Toast } from './hooks';
import type { Me, NotificationPage } from './lib/types';
import { ExclusionsPage } from './pages/exclusions/Exclusions';
import { ForensicsPage } from './pages/forensics/Forensics';
import { IncidentsPage } from './pages/incidents/Incidents';
import { InvestigationsPage } from './pages/investigations/Investigations';
import { IPsPage } from './pages/ips/IPs';
import { LoginPage, PasswordChange } from './pages/login/Login';
import { MapPage } from './pages/map/Map';
import { NotificationsPage } from './pages/notifications/Notifications';
import { OverviewPage } from './pages/overview/Overview';
import { RulesPage } from './pages/rules/Rules';
import { SettingsPage } from './pages/settings/Settings';
import { TracesPage } from './pages/traces/Traces';
import { linkClick, match, navigate, useLocation } from './router';
import { applyTheme, effectiveTheme, loadTheme, type ThemeChoice } from './theme';

interface NavItem {
  path: string;
  label: string;
  icon: string;
}

const nav: NavItem[] = [
  { path: '/', label: 'Overview', icon: '◎' },
  { path: '/map', label: 'API map', icon: '◍' },
  { path: '/notifications', label: 'Notifications', icon: '⚑' },
  { path: '/incidents', label: 'Incidents', icon: '▲' },
  { path: '/ips', label: 'IPs', icon: '⊕' },
  { path: '/investigations', label: 'Investigation', icon: '⚲' },
  { path: '/traces', label: 'Traces', icon: '≡' },
  { path: '/forensics', label: 'Forensics', icon: '?' },
  { path: '/rules', label: 'Rules', icon: '§' },
  { path: '/exclusions', label: 'Exclusions', icon: '⊘' },
  { path: '/settings', label: 'Settings', icon: '⚙' },
];

interface Route {
  pattern: string;
  render: (params: Record<string, string>) => ComponentChildren;
}

const routes: Route[] = [
  { pattern: '/', render: () => <OverviewPage /> },
  { pattern: '/map', render: () => <MapPage /> },
  { pattern: '/notifications', render: () => <NotificationsPage /> },
  { pattern: '/incidents', render: () => <IncidentsPage /> },
  { pattern: '/incidents/:id', render: (p) => <IncidentsPage id={p.id} /> },
  { pattern: '/ips', render: () => <IPsPage /> },
  { pattern: '/traces', render: () => <TracesPage /> },
  { pattern: '/traces/:id', render: (p) => <TracesPage id={p.id} /> },
  { pattern: '/forensics', render: () => <ForensicsPage /> },
  { pattern: '/rules', render: () => <RulesPage /> },
  { pattern: '/rules/:id', render: (p) => <RulesPage id={p.id} /> },
  { pattern: '/settings', render: () => <SettingsPage /> },
  { pattern: '/investigations', render: () => <InvestigationsPage /> },
  { pattern: '/exclusions', render: () => <ExclusionsPage /> },
  { pattern: '/exclusions/:id', render: (p) => <ExclusionsPage id={p.id} /> },
];

function isActive(item: NavItem, path: string): boolean {
  return item.path === '/' ? path === '/' : path === item.path || path.startsWith(item.path + '/');
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const loc = useLocation();

  const refresh = useCallback(() => {
    api.get<Me>('/me').then((m) => {
      setSession(m);
      setMe(m);
    }, () => {
      setSession(null);
      setMe(null);
    });
  }, []);

  useEffect(() => {
    onSessionLost(() => {
      setSession(null);
      setMe(null);
    });
    refresh();
  }, []);

  const toast = useCallback((text: string, kind: Toast['kind'] = 'ok', action?: Toast['action']) => {
    const id = Date.now() + Math.random();
    setToasts((ts) => [...ts.slice(-3), { id, text, kind, action }]);
    window.setTimeout(() => setToasts((ts) => ts.filter((t) => t.id !== id)), action ? 10000 : 5000);
  }, []);

  const logout = useCallback(() => {
    api.post('/logout', {}).finally(() => {
      setSession(null);
      setMe(null);
      navigate('/login');
    });
  }, []);

  if (me === undefined) return <div class="boot"><Spinner label="Starting" /></div>;

  if (me === null || loc.path === '/login') {
    if (me && loc.path === '/login') {
      const next = new URLSearchParams(loc.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
      return null;
    }
    return <LoginPage onLogin={(m) => { setSession(m); setMe(m); }} />;
  }

  if (me.must_change_password) {
    return <PasswordChange me={me} onDone={refresh} />;
  }

  let page: ComponentChildren = null;
  for (const r of routes) {
    const params = match(r.pattern, loc.path);
    if (params) {
      page = r.render(params);
      break;
    }
  }
  if (!page) page = <NotFound />;

  return (
    <SessionContext.Provider value={{ me, logout, refresh }}>
      <ToastContext.Provider value={toast}>
        <div class="shell" onClick={(e) => linkClick(e as unknown as MouseEvent)}>
          <a class="skip" href="#main">Skip to content</a>
          <Sidebar path={loc.path} />
          <div class="main-col">
            <TopBar me={me} logout={logout} />
            <main id="main" tabIndex={-1}>{page}</main>
          </div>
          <div class="toasts" role="status" aria-live="polite">
            {toasts.map((t) => (
              <div key={t.id} class={'toast toast-' + t.kind}>
                <span>{t.text}</span>
                {t.action && <button class="btn btn-small" onClick={() => { t.action!.run(); setToasts((ts) => ts.filter((x) => x.id !== t.id)); }}>{t.action.label}</button>}
              </div>
            ))}
          </div>
        </div>
      </ToastContext.Provider>
    </SessionContext.Provider>
  );
}

function Sidebar({ path }: { path: string }) {
  const [open, setOpen] = useState(0);
  const poll = () => {
    api.get<NotificationPage>('/alerts?status=open&limit=1').then((p) => setOpen(p.total), () => {});
  };
  useEffect(poll, []);
  usePoll(poll, 15000);
  return (
    <nav class="sidebar" aria-label="Main">
      <a href="/" class="brand" aria-label="tracehound overview">
        <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true"><circle cx="16" cy="16" r="14" class="brand-c" /><circle cx="12" cy="14" r="5" class="brand-i" /><circle cx="21" cy="18" r="3.5" class="brand-i2" /></svg>
        <span>tracehound</span>
      </a>
      <ul>
        {nav.map((item) => (
          <li key={item.path}>
            <a href={item.path} class={'nav' + (isActive(item, path) ? ' nav-on' : '')} aria-current={isActive(item, path) ? 'page' : undefined}>
              <span class="nav-icon" aria-hidden="true">{item.icon}</span>
              <span>{item.label}</span>
              {item.path === '/notifications' && open > 0 && <span class="nav-count" aria-label={`${open} open`}>{open > 999 ? '999+' : open}</span>}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function TopBar({ me, logout }: { me: Me; logout: () => void }) {
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme);
  const next: Record<ThemeChoice, ThemeChoice> = { system: effectiveTheme('system') === 'dark' ? 'light' : 'dark', light: 'dark', dark: 'light' };
  return (
    <header class="topbar">
      <div class="topbar-title">API abuse detection</div>
      <div class="topbar-right">
        <span class="muted small">times in UTC</span>
        <button class="btn btn-ghost" aria-label={`Switch to the ${next[theme]} theme`} title="Theme"
          onClick={() => { const t = next[theme]; applyTheme(t); setTheme(t); }}>
          {effectiveTheme(theme) === 'dark' ? '☾' : '☀'}
        </button>
        <span class="who" title={me.kind}>
          <span class="who-name">{me.name || 'anonymous'}</span>
          {me.role && <span class={'badge badge-role'}>{me.role}</span>}
        </span>
        {me.auth_enabled && <Button kind="ghost" onClick={logout}>Sign out</Button>}
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>There is no page here. <a href="/">Back to the overview</a>.</p>
    </div>
  );
}
