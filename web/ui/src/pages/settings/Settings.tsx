// Settings: your account and API tokens; for admins, users, the audit log
// and the CrowdSec bouncers; the state of the notification receivers.
// Integrations (Slack, webhooks, AbuseIPDB, mmdb paths, an LLM) are set in
// the configuration file and shown here read-only.
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Card, Code, ErrorBox, Field, KV, Spinner } from '../../components/ui';
import { useCan, useLoad, useSession, useTitle, useToast } from '../../hooks';
import { formatRelative, formatTime } from '../../lib/format';
import type { AuditEntry, ReceiverStatus, Role, ServerSettings, Status, TokenInfo, UserInfo } from '../../lib/types';

const roles: Role[] = ['viewer', 'analyst', 'admin'];

export function SettingsPage() {
  useTitle('Settings');
  const { me } = useSession();
  const isAdmin = useCan('admin');
  const status = useLoad('status', (s) => api.get<Status>('/status', s));
  return (
    <div class="page">
      <h1>Settings</h1>
      <div class="grid-2">
        <Card title="Your account">
          <KV rows={[['Signed in as', me.name || 'anonymous'], ['Role', me.role || '–'], ['Kind', me.kind], ['Session ends', me.expires_at ? formatTime(me.expires_at) : '–'], ['Authentication', me.auth_enabled ? 'on' : 'off (the server is open)']]} />
          {me.auth_enabled && me.kind === 'user' && <PasswordForm name={me.user || me.name} />}
        </Card>
        <Card title="Server">
          {!status.data ? <Spinner /> : (
            <KV rows={[['Version', status.data.version], ['Data directory', <span class="mono">{status.data.data}</span>], ['Spans', status.data.spans.toLocaleString('en-US')], ['Oldest / newest', `${formatTime(status.data.oldest)} / ${formatTime(status.data.newest)}`], ['Retention', `${status.data.retention_days} days`]]} />
          )}
          <p class="small muted">Integrations — Slack, webhooks, e-mail, AbuseIPDB, mmdb files, an LLM endpoint — are configured in the server's YAML file (<code>--config</code>) and environment; secrets are never shown here.</p>
        </Card>
        <Receivers />
        {isAdmin && <Integrations />}
        <Tokens />
        {isAdmin && <Users />}
        {isAdmin && <Bouncers />}
        {isAdmin && <Audit />}
      </div>
    </div>
  );
}

function PasswordForm({ name }: { name: string }) {
  const toast = useToast();
  const [pw, setPw] = useState('');
  const [error, setError] = useState('');
  return (
    <form class="inline-form" onSubmit={async (e) => {
      e.preventDefault();
      setError('');
      try {
        await api.put(`/users/${encodeURIComponent(name)}/password`, { password: pw });
        setPw('');
        toast('Password changed');
      } catch (err) {
        setError(errorMessage(err));
      }
    }}>
      <Field label="New password" class="grow"><input type="password" autocomplete="new-password" required value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} /></Field>
      <Button kind="small" type="submit">Change</Button>
      <ErrorBox error={error} />
    </form>
  );
}

const list = (xs: string[] | undefined) => (xs && xs.length ? xs.join(', ') : '–');
const onOff = (b: boolean) => (b ? 'on' : 'off');

// Integrations: what the server runs with, from GET /settings (admins).
// Keys are shown as set or not, URLs by host only.
function Integrations() {
  const r = useLoad('settings', (s) => api.get<ServerSettings>('/settings', s));
  const x = r.data;
  return (
    <Card title="Integrations" class="span-2">
      <ErrorBox error={r.error} />
      {!x ? <Spinner /> : (
        <div class="grid-2">
          <KV rows={[
            ['AbuseIPDB', x.ipintel.abuseipdb_key_set ? `key set${x.ipintel.abuseipdb_daily_quota ? `, ${x.ipintel.abuseipdb_daily_quota}/day` : ''}${x.ipintel.abuseipdb_blacklist ? ', blacklist pulled' : ''}` : 'no key'],
            ['Enrichment sources', list(x.ipintel.sources)],
            ['mmdb files', <span class="mono">{list(x.ipintel.mmdb)}</span>],
            ['ASN / country tables', <span class="mono">{list([...x.ipintel.asn_csv, ...x.ipintel.country_csv])}</span>],
            ['Reverse DNS', onOff(x.ipintel.rdns)],
            ['LLM', x.llm.configured ? `${x.llm.model || 'model?'} at ${x.llm.server}${x.llm.key_set ? ' (key set)' : ''}` : 'not configured'],
            ['Notification receivers', x.notify_receivers.length ? x.notify_receivers.map((n) => `${n.name} (${n.kinds.join(', ')})`).join('; ') : 'none'],
          ]} />
          <KV rows={[
            ['Response webhooks', list(x.contain.webhooks)],
            ['Automatic response', `${x.contain.auto_response}, at most ${x.contain.max_auto_blocks_per_hour} enforced blocks an hour`],
            ['Detectors on alerting IPs', x.contain.investigate_alerts ? `on; ${x.contain.detector_block ? `block ${x.contain.detector_block} at risk ≥ ${x.contain.detector_min_risk} (${x.contain.detector_mode})` : 'tag only'}` : 'off'],
            ['Span store', `${x.store.driver}${x.store.mode ? ` (${x.store.mode})` : ''}${x.store.server ? ` at ${x.store.server}` : ''}`],
            ['State store', x.state_driver],
            ['OTLP ingest', `${list([x.ingest.otlp_http, x.ingest.otlp_grpc].filter(Boolean) as string[])}; token ${x.ingest.require_token}`],
            ['Rules', `${x.rules.builtin ? 'built-in pack' : 'no built-in pack'}${x.rules.dirs.length ? ` + ${x.rules.dirs.join(', ')}` : ''}${x.rules.disabled.length ? `; disabled ${x.rules.disabled.join(', ')}` : ''}`],
            ['API map', `snapshot every ${x.apimap.snapshot_interval}, window ${x.apimap.window}, ${x.apimap.pins} pins, ${x.apimap.do_not_merge} kept literal`],
          ]} />
        </div>
      )}
      <p class="small muted">Set in the server's configuration file and environment; secrets are never sent to the browser.</p>
    </Card>
  );
}

function Receivers() {
  const r = useLoad('notify', (s) => api.get<{ receivers: ReceiverStatus[] }>('/notify/status', s));
  return (
    <Card title="Notification receivers">
      <ErrorBox error={r.error} />
      {!r.data ? <Spinner /> : !r.data.receivers.length ? <p class="muted">No receiver configured: notifications show here only. Add Slack or a webhook under <code>notify:</code> in the configuration file.</p> : (
        <table class="table table-compact">
          <thead><tr><th>Receiver</th><th>Integration</th><th>Sent / failed</th><th>Last success</th><th>Last error</th></tr></thead>
          <tbody>{r.data.receivers.map((x) => (
            <tr key={x.receiver + x.integration}><td>{x.receiver}</td><td>{x.integration}</td><td>{x.sent} / {x.failed}</td><td class="small">{x.last_success ? formatRelative(x.last_success) : '–'}</td><td class="small">{x.last_error ? <span title={formatTime(x.last_error_at)}>{x.last_error}</span> : '–'}</td></tr>
          ))}</tbody>
        </table>
      )}
    </Card>
  );
}

function Tokens() {
  const toast = useToast();
  const isAdmin = useCan('admin');
  const { me } = useSession();
  const list = useLoad('tokens', (s) => api.get<{ tokens: TokenInfo[] }>('/tokens', s));
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>(me.role === 'admin' ? 'viewer' : me.role || 'viewer');
  const [expires, setExpires] = useState('90d');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const res = await api.post<{ token: TokenInfo; secret: string }>('/tokens', { name, role, expires_in: expires || undefined });
      setSecret(res.secret);
      setName('');
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const revoke = async (t: TokenInfo) => {
    if (!confirm(`Revoke the token ${t.name}? Programs using it stop working at once.`)) return;
    try {
      await api.del(`/tokens/${encodeURIComponent(t.id)}`);
      toast('Token revoked');
      list.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  return (
    <Card title="API tokens" class="span-2">
      <p class="small muted">For scripts and the CLI (<code>--token</code> or <code>TRACEHOUND_TOKEN</code>). A token acts for you with at most your role{isAdmin ? '; you see everyone’s' : ''}.</p>
      <ErrorBox error={list.error} />
      {list.data && (
        <table class="table table-compact" aria-label="API tokens">
          <thead><tr><th>Name</th><th>Id</th><th>Role</th><th>User</th><th>Created</th><th>Expires</th><th>Last used</th><th /></tr></thead>
          <tbody>{list.data.tokens.map((t) => (
            <tr key={t.id}><td>{t.name}</td><td class="mono small">{t.id}</td><td><Badge kind="role">{t.role}</Badge></td><td>{t.user ?? <span class="muted">service</span>}</td>
              <td class="small">{formatTime(t.created_at)}</td><td class="small">{t.expires_at ? formatTime(t.expires_at) : 'never'}</td><td class="small">{t.last_used_at ? formatRelative(t.last_used_at) : 'never'}</td>
              <td><Button kind="small" onClick={() => revoke(t)}>Revoke</Button></td></tr>
          ))}</tbody>
        </table>
      )}
      <form class="inline-form" onSubmit={create} aria-label="Create a token">
        <Field label="Name"><input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="ci-export" /></Field>
        <Field label="Role"><select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>{roles.map((r) => <option key={r} value={r}>{r}</option>)}</select></Field>
        <Field label="Expires in"><select value={expires} onChange={(e) => setExpires((e.target as HTMLSelectElement).value)}><option value="30d">30 days</option><option value="90d">90 days</option><option value="365d">a year</option><option value="">never</option></select></Field>
        <Button kind="primary" type="submit">Create token</Button>
      </form>
      <ErrorBox error={error} />
      {secret && (
        <div class="secret" role="status">
          <p><b>Copy the token now</b>: it is not shown again.</p>
          <Code label="token secret">{secret}</Code>
          <Button kind="small" onClick={() => setSecret('')}>Done</Button>
        </div>
      )}
    </Card>
  );
}

function Users() {
  const toast = useToast();
  const list = useLoad('users', (s) => api.get<{ users: UserInfo[] }>('/users', s));
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [created, setCreated] = useState<{ name: string; password: string } | null>(null);
  const [error, setError] = useState('');
  const add = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const res = await api.post<{ user: UserInfo; password?: string }>('/users', { name, role });
      setCreated({ name: res.user.name, password: res.password ?? '' });
      setName('');
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const setUserRole = async (u: UserInfo, r: Role) => {
    try {
      await api.put(`/users/${encodeURIComponent(u.name)}/role`, { role: r });
      toast(`${u.name} is now ${r}`);
      list.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  const remove = async (u: UserInfo) => {
    if (!confirm(`Delete ${u.name} with their tokens and sessions?`)) return;
    try {
      await api.del(`/users/${encodeURIComponent(u.name)}`);
      toast(`${u.name} deleted`);
      list.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  return (
    <Card title="Users" class="span-2">
      <ErrorBox error={list.error} />
      {list.data && (
        <table class="table table-compact" aria-label="Users">
          <thead><tr><th>User</th><th>Role</th><th>Created</th><th>Password</th><th /></tr></thead>
          <tbody>{list.data.users.map((u) => (
            <tr key={u.name}><td>{u.name}</td>
              <td><select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => setUserRole(u, (e.target as HTMLSelectElement).value as Role)}>{roles.map((r) => <option key={r} value={r}>{r}</option>)}</select></td>
              <td class="small">{formatTime(u.created_at)}</td><td class="small">{u.must_change_password ? <Badge kind="warn">one-time, not changed yet</Badge> : 'set'}</td>
              <td><Button kind="small" onClick={() => remove(u)}>Delete</Button></td></tr>
          ))}</tbody>
        </table>
      )}
      <form class="inline-form" onSubmit={add} aria-label="Add a user">
        <Field label="Name"><input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Role"><select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>{roles.map((r) => <option key={r} value={r}>{r}</option>)}</select></Field>
        <Button kind="primary" type="submit">Add user</Button>
      </form>
      <ErrorBox error={error} />
      {created && (
        <div class="secret" role="status">
          <p>Hand <b>{created.name}</b> this one-time password; they choose their own at first sign-in.</p>
          <Code label="one-time password">{created.password}</Code>
          <Button kind="small" onClick={() => setCreated(null)}>Done</Button>
        </div>
      )}
    </Card>
  );
}

function Bouncers() {
  const toast = useToast();
  const list = useLoad('bouncers', (s) => api.get<{ bouncers: { name: string; created_at: string; last_pull?: string }[] }>('/bouncers', s));
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  return (
    <Card title="CrowdSec bouncers" class="span-2">
      <p class="small muted">Bouncers pull the blocked set from <code>/v1/decisions/stream</code> with their own key, which opens nothing else.</p>
      <ErrorBox error={list.error} />
      {list.data && (list.data.bouncers.length ? (
        <table class="table table-compact"><thead><tr><th>Bouncer</th><th>Registered</th><th>Last pull</th><th /></tr></thead>
          <tbody>{list.data.bouncers.map((b) => <tr key={b.name}><td>{b.name}</td><td class="small">{formatTime(b.created_at)}</td><td class="small">{b.last_pull ? formatRelative(b.last_pull) : 'never'}</td>
            <td><Button kind="small" onClick={async () => { try { await api.del(`/bouncers/${encodeURIComponent(b.name)}`); list.reload(); } catch (e) { toast(errorMessage(e), 'error'); } }}>Remove</Button></td></tr>)}</tbody></table>
      ) : <p class="muted small">None registered.</p>)}
      <form class="inline-form" onSubmit={async (e) => { e.preventDefault(); try { const r = await api.post<{ api_key: string }>('/bouncers', { name }); setKey(r.api_key); setName(''); list.reload(); } catch (err) { toast(errorMessage(err), 'error'); } }}>
        <Field label="Bouncer name"><input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="edge-nginx" /></Field>
        <Button type="submit">Register</Button>
      </form>
      {key && <div class="secret" role="status"><p><b>Copy the bouncer key now</b>: it is not shown again.</p><Code label="bouncer key">{key}</Code><Button kind="small" onClick={() => setKey('')}>Done</Button></div>}
    </Card>
  );
}

function Audit() {
  const [action, setAction] = useState('');
  const q = action ? `?limit=100&action=${encodeURIComponent(action)}` : '?limit=100';
  const list = useLoad(q, (s) => api.get<{ entries: AuditEntry[] }>('/audit' + q, s));
  return (
    <Card title="Audit log" class="span-2" actions={<Field label="Action"><input class="narrow" value={action} placeholder="ip. or rule.put" onChange={(e) => setAction((e.target as HTMLInputElement).value.trim())} /></Field>}>
      <ErrorBox error={list.error} />
      {!list.data ? <Spinner /> : (
        <table class="table table-compact" aria-label="Audit log">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Change</th></tr></thead>
          <tbody>{list.data.entries.map((e) => (
            <tr key={e.id}><td class="small nowrap">{formatTime(e.at)}</td><td class="small">{e.actor}</td><td class="mono small">{e.action}</td><td class="mono small">{e.target}</td>
              <td class="mono small wrap">{e.before != null && <span class="muted">{JSON.stringify(e.before).slice(0, 120)} → </span>}{e.after != null && JSON.stringify(e.after).slice(0, 160)}</td></tr>
          ))}</tbody>
        </table>
      )}
    </Card>
  );
}
