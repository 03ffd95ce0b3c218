// Rules: the list with each rule's health, one rule's SQL and instances, an
// editor for rules kept in tracehound (YAML, as in the rule files), and a
// backtest over history with its chart.
import { useEffect, useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Card, Code, Empty, ErrorBox, Field, KV, SevBadge, Spinner } from '../../components/ui';
import { useCan, useLoad, useTitle, useToast } from '../../hooks';
import { formatCount, formatRelative, formatTime, shortDuration } from '../../lib/format';
import { endpointRule, ruleYAML, slugID } from '../../lib/ruleyaml';
import type { BacktestResult, RuleDetail, RuleInfo } from '../../lib/types';
import { navigate, useLocation } from '../../router';
import { BacktestView } from './Backtest';

export function RulesPage({ id }: { id?: string }) {
  useTitle(id ? (id === 'new' ? 'New rule' : 'Rule ' + id) : 'Rules');
  if (id === 'new') return <NewRule />;
  return id ? <RuleView id={id} /> : <RuleList />;
}

function health(r: RuleInfo) {
  const kind = r.health === 'ok' ? 'ok' : r.health === 'err' || r.health === 'error' ? 'err' : 'muted';
  return <Badge kind={kind} title={r.last_error}>{r.health}</Badge>;
}

function RuleList() {
  const canAct = useCan('analyst');
  const list = useLoad('rules', (s) => api.get<{ rules: RuleInfo[] }>('/rules', s));
  const [q, setQ] = useState('');
  const rules = (list.data?.rules ?? []).filter((r) => !q || `${r.id} ${r.name} ${r.description ?? ''}`.toLowerCase().includes(q.toLowerCase()));
  return (
    <div class="page page-wide">
      <div class="page-head">
        <h1>Rules</h1>
        <div class="page-actions">{canAct && <a class="btn" href="/rules/new">New rule</a>}</div>
      </div>
      <div class="toolbar"><Field label="Search"><input type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} /></Field></div>
      <ErrorBox error={list.error} retry={list.reload} />
      {!list.data ? <Spinner /> : !rules.length ? <Card><Empty>No rule.</Empty></Card> : (
        <Card>
          <table class="table" aria-label="Rules">
            <thead><tr><th>Rule</th><th>Severity</th><th>Mode</th><th>Health</th><th class="num">Firing</th><th class="num">Pending</th><th>Every</th><th>Last evaluated</th><th>Origin</th></tr></thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id} class={r.enabled ? '' : 'row-disabled'}>
                  <td><a href={`/rules/${encodeURIComponent(r.id)}`}>{r.name}</a><div class="muted small mono">{r.id}</div></td>
                  <td><SevBadge severity={r.severity} /></td>
                  <td>{r.mode === 'shadow' ? <Badge kind="muted" title="recorded, not announced">shadow</Badge> : r.mode}{!r.enabled && <Badge kind="muted">disabled</Badge>}</td>
                  <td>{health(r)}{r.missed > 0 && <span class="small muted"> {r.missed} missed</span>}</td>
                  <td class="num">{r.firing}</td>
                  <td class="num">{r.pending}</td>
                  <td>{shortDuration(r.interval)}{r.for && r.for !== '0s' ? <span class="muted small"> for {shortDuration(r.for)}</span> : null}</td>
                  <td class="small">{r.last_eval ? formatRelative(r.last_eval) : '–'}</td>
                  <td class="small">{r.origin}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}

function RuleView({ id }: { id: string }) {
  const canAct = useCan('analyst');
  const toast = useToast();
  const d = useLoad(id, (s) => api.get<RuleDetail>(`/rules/${encodeURIComponent(id)}`, s));
  const r = d.data;
  const editable = r?.origin === 'api';
  const [body, setBody] = useState<string | null>(null);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  if (d.error) return <div class="page"><ErrorBox error={d.error} retry={d.reload} /></div>;
  if (!r) return <div class="page"><Spinner /></div>;
  const yaml = body ?? r.body ?? '';

  const save = async (enabled?: boolean) => {
    setBusy('save');
    setError('');
    try {
      const res = await api.put<RuleDetail>(`/rules/${encodeURIComponent(id)}`, { body: yaml, enabled });
      d.setData(res);
      setBody(null);
      toast('Rule saved');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy('');
    }
  };
  const remove = async () => {
    if (!confirm(`Delete rule ${id}?`)) return;
    try {
      await api.del(`/rules/${encodeURIComponent(id)}`);
      toast('Rule deleted');
      navigate('/rules');
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  const copy = () => {
    const y = ruleYAML({ id: slugID(r.id + '_copy'), name: r.name + ' (copy)', description: r.description, severity: r.severity, mode: r.mode, interval: r.interval, for: r.for,
      labels: r.labels, annotations: r.annotations, group_by: r.group_by, sql: r.sql ?? '' });
    sessionStorage.setItem('tracehound.rule-draft', y);
    navigate('/rules/new?from=draft');
  };

  return (
    <div class="page page-wide">
      <div class="page-head">
        <div>
          <a class="small" href="/rules">← Rules</a>
          <h1>{r.name}</h1>
          <div class="chips"><span class="mono small">{r.id}</span><SevBadge severity={r.severity} />{health(r)}<Badge>{r.mode}</Badge>{!r.enabled && <Badge kind="muted">disabled</Badge>}<Badge kind="muted">{r.origin}{r.file ? ': ' + r.file : ''}</Badge></div>
        </div>
        <div class="page-actions">
          {canAct && !editable && <Button onClick={copy}>Copy as a new rule</Button>}
          {canAct && editable && <Button onClick={() => save(!r.enabled)} busy={busy === 'save'}>{r.enabled ? 'Disable' : 'Enable'}</Button>}
          {canAct && editable && <Button kind="danger" onClick={remove}>Delete</Button>}
        </div>
      </div>
      <div class="grid-2">
        <Card title="What it detects">
          <p>{r.description || <span class="muted">No description.</span>}</p>
          <KV rows={[
            ['Evaluated', `every ${shortDuration(r.interval)}${r.for && r.for !== '0s' ? `, firing after ${shortDuration(r.for)}` : ''}`],
            ['Last evaluation', r.last_eval ? `${formatTime(r.last_eval)} (${formatRelative(r.last_eval)})` : 'not yet'],
            ['Firing / pending', `${r.firing} / ${r.pending}`],
            ['Missed evaluations', formatCount(r.missed)],
            ['Group by', r.group_by?.join(', ') || '–'],
            ['Labels', Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || '–'],
          ]} />
          {r.last_error && <ErrorBox error={'Last error: ' + r.last_error} />}
          {Object.keys(r.annotations ?? {}).length > 0 && (
            <>
              <h3>Annotations</h3>
              <table class="table table-compact"><tbody>{Object.entries(r.annotations!).map(([k, v]) => <tr key={k}><td class="muted small">{k}</td><td class="mono small wrap">{v}</td></tr>)}</tbody></table>
            </>
          )}
        </Card>
        <Card title={`Instances (${r.instances.length})`}>
          {!r.instances.length ? <p class="muted">Nothing pending or firing.</p> : (
            <table class="table table-compact">
              <thead><tr><th>State</th><th>Labels</th><th>Since</th></tr></thead>
              <tbody>{r.instances.map((a, i) => (
                <tr key={a.fingerprint ?? i}><td><Badge kind={a.state === 'firing' ? 'err' : 'warn'}>{a.state ?? '?'}</Badge></td>
                  <td class="mono small">{Object.entries(a.labels ?? {}).filter(([k]) => !['alertname', 'severity'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')}</td>
                  <td class="small">{formatTime(a.starts_at ?? a.active_at)}</td></tr>
              ))}</tbody>
            </table>
          )}
        </Card>
        {editable && canAct ? (
          <Card title="Edit" class="span-2">
            <Field label="Rule (YAML)"><textarea class="mono code-edit" rows={18} spellcheck={false} value={yaml} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} /></Field>
            <ErrorBox error={error} />
            <div class="row-between"><span class="small muted">The server checks the rule (YAML, SQL guard) before saving.</span><Button kind="primary" onClick={() => save()} busy={busy === 'save'} disabled={body == null}>Save</Button></div>
          </Card>
        ) : (
          <Card title="SQL" class="span-2"><Code label="rule SQL">{r.sql ?? ''}</Code>{error && <ErrorBox error={error} />}</Card>
        )}
        <Card title="Backtest" class="span-2"><Backtest ruleID={id} body={body ?? undefined} /></Card>
      </div>
    </div>
  );
}

function Backtest({ ruleID, body }: { ruleID?: string; body?: string }) {
  const canAct = useCan('analyst');
  const [since, setSince] = useState('7d');
  const [incident, setIncident] = useState('');
  const [bt, setBt] = useState<BacktestResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [elapsed, setElapsed] = useState(0);
  useEffect(() => {
    if (!busy) return;
    const t0 = Date.now();
    const id = setInterval(() => setElapsed(Date.now() - t0), 250);
    return () => clearInterval(id);
  }, [busy]);
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const req: Record<string, unknown> = { since };
      if (body) req.body = body;
      else req.rule_id = ruleID;
      if (incident) req.incident_start = new Date(incident + 'Z').toISOString();
      setBt(await api.post<BacktestResult>('/rules/backtest', req));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (!canAct) return <p class="muted">Analysts can backtest rules.</p>;
  return (
    <>
      <form class="toolbar" onSubmit={run} aria-label="Backtest">
        <Field label="Over"><select value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}><option value="24h">the last day</option><option value="7d">the last 7 days</option><option value="30d">the last 30 days</option></select></Field>
        <Field label="Incident started (UTC, optional)" hint="to measure the detection gap"><input type="datetime-local" value={incident} onInput={(e) => setIncident((e.target as HTMLInputElement).value)} /></Field>
        <Button kind="primary" type="submit" busy={busy}>{busy ? `Backtesting… ${(elapsed / 1000).toFixed(0)} s` : 'Run backtest'}</Button>
      </form>
      {busy && <div class="progress" role="progressbar" aria-label="Backtest running"><span /></div>}
      <ErrorBox error={error} />
      {bt && <BacktestView bt={bt} />}
    </>
  );
}

function NewRule() {
  const canAct = useCan('analyst');
  const toast = useToast();
  const loc = useLocation();
  const p = new URLSearchParams(loc.search);
  const initial = (() => {
    if (p.get('from') === 'draft') return sessionStorage.getItem('tracehound.rule-draft') ?? '';
    const method = p.get('method');
    const template = p.get('template');
    if (method && template) return ruleYAML(endpointRule(method, template, p.get('service') ?? ''));
    return ruleYAML({ id: 'my_rule', name: 'My rule', severity: 'medium', interval: '5m', annotations: { summary: '{{.peer_ip}}: {{.requests}} requests' },
      sql: "SELECT peer_ip, count() AS requests\nFROM traces\nWHERE span_kind = 'Server'\n  AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()\nGROUP BY peer_ip\nHAVING requests > 1000" });
  })();
  const [body, setBody] = useState(initial);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const id = /^id:\s*["']?([A-Za-z0-9_.-]+)/m.exec(body)?.[1] ?? '';
  const save = async () => {
    setBusy(true);
    setError('');
    try {
      await api.put(`/rules/${encodeURIComponent(id)}`, { body });
      toast(`Rule ${id} saved`);
      navigate(`/rules/${encodeURIComponent(id)}`);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  if (!canAct) return <div class="page"><p>Analysts and admins create rules.</p></div>;
  return (
    <div class="page page-wide">
      <a class="small" href="/rules">← Rules</a>
      <h1>New rule</h1>
      <div class="grid-2">
        <Card title="Rule (YAML)" class="span-2">
          <Field label={`Rule ${id || '(needs an id)'}`}><textarea class="mono code-edit" rows={20} spellcheck={false} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} /></Field>
          <ErrorBox error={error} />
          <div class="row-between"><span class="small muted">A rule's SQL returns one row per offending thing (an IP, a key…); each row becomes an alert instance.</span><Button kind="primary" onClick={save} busy={busy} disabled={!id}>Save rule</Button></div>
        </Card>
        <Card title="Backtest the draft" class="span-2"><Backtest body={body} /></Card>
      </div>
    </div>
  );
}
