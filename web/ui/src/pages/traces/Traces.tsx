// Traces: search by IP, API key, endpoint, status, service and window;
// one trace as a waterfall (span tree on a time axis) with attributes.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../../api';
import { Badge, Button, Card, Empty, ErrorBox, Field, KV, Spinner } from '../../components/ui';
import { useFilters, useLoad, useTitle } from '../../hooks';
import { formatBytes, formatDuration, formatTime } from '../../lib/format';
import { apiQuery } from '../../lib/query';
import type { TraceList, TraceResult, TraceSpan } from '../../lib/types';
import { isErrorSpan, timeTicks, waterfallRows } from '../../lib/waterfall';

const schema = {
  ip: { kind: 'string' },
  key: { kind: 'string' },
  endpoint: { kind: 'string' },
  status: { kind: 'string' },
  service: { kind: 'string' },
  since: { kind: 'enum', values: ['1h', '24h', '7d', '30d'], default: '24h' },
  limit: { kind: 'number', min: 1, max: 1000, default: 100 },
} as const;

export function TracesPage({ id }: { id?: string }) {
  useTitle(id ? 'Trace ' + id.slice(0, 8) : 'Traces');
  return id ? <TraceView id={id} /> : <TraceSearch />;
}

function TraceSearch() {
  const [f, setF] = useFilters(schema);
  const [draft, setDraft] = useState(f);
  const q = apiQuery({ ip: f.ip, key: f.key, endpoint: f.endpoint, status: f.status, service: f.service, since: f.since, limit: f.limit ?? 100 });
  const list = useLoad(q, (signal) => api.get<TraceList>('/traces' + q, signal));
  const set = (k: keyof typeof draft, v: string) => setDraft({ ...draft, [k]: v });
  return (
    <div class="page page-wide">
      <h1>Traces</h1>
      <form class="toolbar" role="search" aria-label="Search traces" onSubmit={(e) => { e.preventDefault(); setF({ ...draft }, { push: true }); }}>
        <Field label="Client IP"><input class="mono" value={draft.ip} onInput={(e) => set('ip', (e.target as HTMLInputElement).value.trim())} /></Field>
        <Field label="API key"><input class="mono" value={draft.key} onInput={(e) => set('key', (e.target as HTMLInputElement).value.trim())} /></Field>
        <Field label="Endpoint" hint="path, route or glob"><input class="mono" value={draft.endpoint} placeholder="/v1/admin/*" onInput={(e) => set('endpoint', (e.target as HTMLInputElement).value.trim())} /></Field>
        <Field label="Status"><input class="narrow" value={draft.status} placeholder="4xx, 502, error" onInput={(e) => set('status', (e.target as HTMLInputElement).value.trim())} /></Field>
        <Field label="Service"><input value={draft.service} onInput={(e) => set('service', (e.target as HTMLInputElement).value.trim())} /></Field>
        <Field label="Window">
          <select value={draft.since} onChange={(e) => set('since', (e.target as HTMLSelectElement).value)}>
            {['1h', '24h', '7d', '30d'].map((s) => <option key={s} value={s}>last {s}</option>)}
          </select>
        </Field>
        <Button kind="primary" type="submit">Search</Button>
      </form>
      <ErrorBox error={list.error} retry={list.reload} />
      {!list.data ? <Spinner /> : !list.data.traces.length ? <Card><Empty>No trace matches in this window.</Empty></Card> : (
        <Card title={`${list.data.traces.length}${list.data.truncated ? '+' : ''} requests, newest first`}>
          <table class="table" aria-label="Traces">
            <thead><tr><th>Time</th><th>Request</th><th>Status</th><th class="num">Duration</th><th class="num">Response</th><th>Client</th><th>API key</th><th>Service</th></tr></thead>
            <tbody>
              {list.data.traces.map((t) => (
                <tr key={t.trace_id + t.span_id}>
                  <td class="small nowrap">{formatTime(t.timestamp)}</td>
                  <td><a class="mono" href={`/traces/${t.trace_id}`}>{t.http_method} {t.http_target}</a></td>
                  <td><Badge kind={t.status_code >= 500 ? 'err' : t.status_code >= 400 ? 'warn' : 'ok'}>{t.status_code || '–'}</Badge></td>
                  <td class="num">{formatDuration(t.duration_ns)}</td>
                  <td class="num">{formatBytes(t.response_bytes)}</td>
                  <td><a class="mono small" href={`/ips?ip=${encodeURIComponent(t.peer_ip)}`}>{t.peer_ip}</a></td>
                  <td class="mono small">{t.api_key_id || '–'}</td>
                  <td class="small">{t.service_name}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}

function TraceView({ id }: { id: string }) {
  const t = useLoad(id, (signal) => api.get<TraceResult>(`/traces/${encodeURIComponent(id)}`, signal));
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [sel, setSel] = useState<string>('');
  const tr = t.data;
  const rows = useMemo(() => (tr ? waterfallRows(tr.spans, tr.duration_ns, collapsed) : []), [tr, collapsed]);
  const services = useMemo(() => (tr ? [...new Set(tr.spans.map((s) => s.service_name))] : []), [tr]);
  const selected = tr?.spans.find((s) => s.span_id === sel) ?? tr?.spans[0];
  if (t.error) return <div class="page"><ErrorBox error={t.error} retry={t.reload} /></div>;
  if (!tr) return <div class="page"><Spinner /></div>;
  const root = tr.spans[0];
  return (
    <div class="page page-wide">
      <div class="page-head">
        <div>
          <a class="small" href="/traces">← Traces</a>
          <h1 class="mono">{root ? `${root.http_method ?? ''} ${root.http_target ?? root.span_name}` : 'Trace'}</h1>
          <div class="muted small">trace <span class="mono">{tr.trace_id}</span> · {formatTime(tr.start)} · {formatDuration(tr.duration_ns)} · {tr.spans.length} spans · {tr.services.join(', ')}{tr.errors > 0 && ` · ${tr.errors} errors`}</div>
        </div>
      </div>
      <div class="split with-panel">
        <Card class="waterfall-card">
          <div class="wf" role="tree" aria-label="Span tree">
            <div class="wf-head" aria-hidden="true">
              <span class="wf-name">Span</span>
              <span class="wf-axis">{timeTicks(tr.duration_ns).map(([pct, ns]) => <span key={pct} class="wf-tick" style={{ left: pct + '%' }}>{formatDuration(ns)}</span>)}</span>
            </div>
            {rows.map((r) => {
              const s = r.span;
              const svcIdx = services.indexOf(s.service_name) % 6;
              return (
                <div key={s.span_id} role="treeitem" aria-level={s.depth + 1} aria-expanded={r.hasChildren ? !r.collapsed : undefined} aria-selected={selected?.span_id === s.span_id}
                  class={'wf-row' + (selected?.span_id === s.span_id ? ' wf-sel' : '') + (isErrorSpan(s) ? ' wf-err' : '')}>
                  <span class="wf-name" style={{ paddingLeft: s.depth * 16 + 'px' }}>
                    {r.hasChildren ? (
                      <button class="wf-toggle" aria-label={(r.collapsed ? 'Expand ' : 'Collapse ') + s.span_name}
                        onClick={() => setCollapsed((c) => { const n = new Set(c); n.has(s.span_id) ? n.delete(s.span_id) : n.add(s.span_id); return n; })}>{r.collapsed ? '▸' : '▾'}</button>
                    ) : <span class="wf-toggle-space" />}
                    <button class="wf-label" onClick={() => setSel(s.span_id)} title={`${s.service_name}: ${s.span_name}`}>
                      <i class={'dot svc-' + svcIdx} aria-hidden="true" />{spanLabel(s)}
                    </button>
                  </span>
                  <span class="wf-axis">
                    <span class={'wf-bar svc-' + svcIdx + (isErrorSpan(s) ? ' wf-bar-err' : '')} style={{ left: r.left + '%', width: r.width + '%' }} title={formatDuration(s.duration_ns)} />
                    <span class="wf-dur" style={{ left: Math.min(r.left + r.width, 88) + '%' }}>{formatDuration(s.duration_ns)}</span>
                  </span>
                </div>
              );
            })}
          </div>
        </Card>
        {selected && <SpanPanel s={selected} />}
      </div>
    </div>
  );
}

function spanLabel(s: TraceSpan): string {
  if (s.span_kind === 'Server' && s.http_method) return `${s.http_method} ${s.http_route || s.span_name}`;
  const db = s.span_attributes?.['db.system.name'] ?? s.span_attributes?.['db.system'];
  return db ? `${db} ${s.span_name}` : s.span_name;
}

function SpanPanel({ s }: { s: TraceSpan }) {
  return (
    <aside class="panel" aria-label="Span details">
      <header class="panel-head"><div><div class="muted small">{s.service_name} · {s.span_kind}</div><h2 class="mono">{s.span_name}</h2></div></header>
      <div class="panel-section">
        <KV rows={[
          ['Start', formatTime(s.start)],
          ['Offset', formatDuration(s.offset_ns)],
          ['Duration', formatDuration(s.duration_ns)],
          ['Status', `${s.otel_status}${s.status_code ? ' · HTTP ' + s.status_code : ''}`],
          ...(s.http_target ? [['Target', <span class="mono">{s.http_method} {s.http_target}</span>] as [string, unknown]] : []),
          ...(s.peer_ip ? [['Client', <a class="mono" href={`/ips?ip=${encodeURIComponent(s.peer_ip)}`}>{s.peer_ip}</a>] as [string, unknown]] : []),
          ...(s.api_key_id ? [['API key', <span class="mono">{s.api_key_id}</span>] as [string, unknown]] : []),
          ...(s.user_agent ? [['User agent', s.user_agent] as [string, unknown]] : []),
          ...(s.response_bytes ? [['Response', formatBytes(s.response_bytes)] as [string, unknown]] : []),
          ['Span id', <span class="mono">{s.span_id}</span>],
        ] as [string, preact.ComponentChildren][]} />
      </div>
      <Attrs title="Span attributes" attrs={s.span_attributes} />
      <Attrs title="Resource attributes" attrs={s.resource_attributes} />
    </aside>
  );
}

function Attrs({ title, attrs }: { title: string; attrs: Record<string, string> | null }) {
  const keys = Object.keys(attrs ?? {}).sort();
  return (
    <div class="panel-section">
      <h3>{title}</h3>
      {!keys.length ? <p class="muted small">none</p> : (
        <table class="table table-compact"><tbody>{keys.map((k) => <tr key={k}><td class="muted small">{k}</td><td class="mono small wrap">{attrs![k]}</td></tr>)}</tbody></table>
      )}
    </div>
  );
}
