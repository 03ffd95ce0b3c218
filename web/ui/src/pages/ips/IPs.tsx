// IP monitoring at scale: a virtualised table over every monitored address
// (pages load as they scroll into view), filters in the URL, batch select →
// enrich / investigate / block / trust (undoable), the details of one
// address, tracking addresses from traffic, and the blocklist export.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, errorMessage, fetchText } from '../../api';
import { VirtualTable, type Column } from '../../components/VirtualTable';
import { Badge, Button, Code, Dialog, ErrorBox, Field, KV, Meter, Spinner } from '../../components/ui';
import { useCan, useFilters, useLoad, useTitle, useToast } from '../../hooks';
import { formatBytes, formatCompact, formatCount, formatRelative, formatTime } from '../../lib/format';
import { investigationHref } from '../../lib/investigation';
import { apiQuery } from '../../lib/query';
import { sqlString } from '../../lib/ruleyaml';
import { pagesFor } from '../../lib/virtual';
import type { EnrichResult, IPDetail, IPList, IPRecord, IPStatusResult, QueryResult } from '../../lib/types';

const ipStatuses = ['monitoring', 'investigating', 'blocked', 'trusted'] as const;
const sortKeys = ['value', 'status', 'severity', 'source', 'created_at', 'updated_at', 'expires_at', 'first_seen', 'last_seen', 'requests', 'bytes'] as const;

const schema = {
  status: { kind: 'list' },
  q: { kind: 'string' },
  tag: { kind: 'string' },
  source: { kind: 'string' },
  sort: { kind: 'enum', values: sortKeys, default: 'value' },
  desc: { kind: 'bool' },
  ip: { kind: 'string' },
} as const;

const PAGE = 500;

/** useIPPages loads the pages of a filtered IP list on demand. */
function useIPPages(query: string) {
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState('');
  const [, setVersion] = useState(0);
  const pages = useRef(new Map<number, IPRecord[]>());
  const inflight = useRef(new Set<number>());
  const gen = useRef(0);
  const range = useRef<[number, number]>([0, 60]);

  const fetchPage = useCallback((p: number) => {
    if (pages.current.has(p) || inflight.current.has(p)) return;
    inflight.current.add(p);
    const g = gen.current;
    api.get<IPList>('/ips' + query + (query ? '&' : '?') + `limit=${PAGE}&offset=${p * PAGE}`).then((res) => {
      if (g !== gen.current) return;
      inflight.current.delete(p);
      pages.current.set(p, res.ips);
      setTotal(res.total);
      setError('');
      setVersion((v) => v + 1);
    }, (e) => {
      if (g !== gen.current) return;
      inflight.current.delete(p);
      setError(errorMessage(e));
    });
  }, [query]);

  const reset = useCallback(() => {
    gen.current++;
    pages.current = new Map();
    inflight.current = new Set();
    for (const p of pagesFor(range.current[0], Math.max(range.current[1], 1), PAGE)) fetchPage(p);
  }, [fetchPage]);

  useEffect(() => {
    setTotal(null);
    reset();
  }, [query]);

  const onRange = useCallback((start: number, end: number) => {
    range.current = [start, end];
    for (const p of pagesFor(start, end, PAGE)) fetchPage(p);
  }, [fetchPage]);

  const row = (i: number): IPRecord | undefined => pages.current.get(Math.floor(i / PAGE))?.[i % PAGE];
  const loaded = (): IPRecord[] => [...pages.current.keys()].sort((a, b) => a - b).flatMap((k) => pages.current.get(k)!);
  let loadedCount = 0;
  for (const p of pages.current.values()) loadedCount += p.length;
  return { total, error, row, onRange, reload: reset, loaded, loadedCount };
}

type Batch = { status: (typeof ipStatuses)[number]; ips: string[] } | null;

export function IPsPage() {
  useTitle('IPs');
  const canAct = useCan('analyst');
  const toast = useToast();
  const [f, setF] = useFilters(schema);
  const query = apiQuery({ status: f.status, q: f.q, tag: f.tag, source: f.source, sort: f.sort === 'value' ? '' : f.sort, desc: f.desc });
  const data = useIPPages(query);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [batch, setBatch] = useState<Batch>(null);
  const [adding, setAdding] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [busy, setBusy] = useState('');
  const [text, setText] = useState(f.q);
  useEffect(() => setText(f.q), [f.q]);
  useEffect(() => setSelected(new Set()), [query]);

  const count = data.total ?? 0;
  const toggle = (ip: string) => setSelected((s) => { const n = new Set(s); n.has(ip) ? n.delete(ip) : n.add(ip); return n; });

  const applyStatus = async (ips: string[], status: string, reason: string, duration: string) => {
    setBusy(status);
    try {
      const res = await api.post<IPStatusResult>('/ips/status', { ips, status, reason: reason || undefined, for: duration || undefined });
      setSelected(new Set());
      data.reload();
      const undo = res.change_id ? { label: 'Undo', run: () => { api.post(`/ips/undo/${res.change_id}`, {}).then(() => { toast('Undone'); data.reload(); }, (e) => toast(errorMessage(e), 'error')); } } : undefined;
      toast(`${res.changed.length} ${status}${res.unchanged.length ? `, ${res.unchanged.length} unchanged` : ''}`, 'ok', undo);
    } catch (e) {
      toast(errorMessage(e), 'error');
    } finally {
      setBusy('');
    }
  };

  const enrich = async (ips: string[]) => {
    setBusy('enrich');
    try {
      const res = await api.post<EnrichResult>('/ips/enrich', { ips });
      data.reload();
      toast(`Enriched ${res.records.length} (${res.sources.join(', ') || 'no source configured'})${res.warning ? ' — ' + res.warning : ''}`);
    } catch (e) {
      toast(errorMessage(e), 'error');
    } finally {
      setBusy('');
    }
  };

  const sortBy = (k: string) => setF(k === f.sort ? { desc: !f.desc } : { sort: k, desc: k !== 'value' });
  const columns: Column<IPRecord>[] = [
    { key: 'sel', label: <input type="checkbox" aria-label="Select every loaded row" disabled={!canAct} title="Selects the rows loaded so far (scroll to load more)"
        checked={selected.size > 0 && selected.size >= Math.min(count, data.loadedCount)}
        onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(data.loaded().map((r) => r.ip)) : new Set())} />,
      width: '34px', render: (r) => <input type="checkbox" checked={selected.has(r.ip)} disabled={!canAct} onChange={() => toggle(r.ip)} aria-label={`Select ${r.ip}`} /> },
    { key: 'ip', label: 'IP', width: 'minmax(140px,1.3fr)', sortKey: 'value', render: (r) => <a class="mono" href={`?${withParam('ip', r.ip)}`} onClick={(e) => { e.preventDefault(); setF({ ip: r.ip }); }}>{r.ip}</a> },
    { key: 'status', label: 'Status', width: '150px', sortKey: 'status', render: (r) => <span><Badge kind={'ip-' + r.status}>{r.status}</Badge>{r.expires_at && <span class="muted small" title={'until ' + formatTime(r.expires_at)}> {formatRelative(r.expires_at)}</span>}</span> },
    { key: 'where', label: 'Network', width: 'minmax(150px,1.6fr)', render: (r) => <span class="small ellipsis" title={netTitle(r)}>{netLabel(r)}</span> },
    { key: 'abuse', label: 'Abuse', width: '90px', title: 'AbuseIPDB confidence', render: (r) => r.enrichment?.abuse_confidence != null && r.enrichment.sources?.includes('abuseipdb') ? <Meter value={r.enrichment.abuse_confidence} label={`abuse confidence of ${r.ip}`} /> : <span class="muted small">–</span> },
    { key: 'req', label: 'Requests', width: '86px', align: 'right', sortKey: 'requests', render: (r) => formatCompact(r.requests) },
    { key: 'bytes', label: 'Bytes', width: '86px', align: 'right', sortKey: 'bytes', render: (r) => formatBytes(r.bytes) },
    { key: 'last', label: 'Last seen', width: '100px', sortKey: 'last_seen', render: (r) => <span class="small" title={formatTime(r.last_seen)}>{r.last_seen ? formatRelative(r.last_seen) : '–'}</span> },
    { key: 'tags', label: 'Tags', width: 'minmax(100px,1.4fr)', render: (r) => <span class="chips ellipsis">{r.tags.map((t) => <Badge key={t}>{t}</Badge>)}</span> },
    { key: 'reason', label: 'Reason', width: 'minmax(120px,1.6fr)', sortKey: 'source', render: (r) => <span class="small ellipsis" title={`${r.reason} (${r.source})`}>{r.reason || r.source}</span> },
  ];

  const sel = [...selected];
  return (
    <div class="page page-wide">
      <div class="page-head">
        <h1>IPs</h1>
        <div class="page-actions">
          {canAct && <Button onClick={() => setAdding(true)}>Track addresses…</Button>}
          <Button onClick={() => setExporting(true)}>Blocklist export…</Button>
        </div>
      </div>
      <div class="toolbar" role="search" aria-label="Filter IPs">
        <fieldset class="checks">
          <legend>Status</legend>
          {ipStatuses.map((s) => (
            <label key={s}><input type="checkbox" checked={f.status.includes(s)} onChange={() => setF({ status: f.status.includes(s) ? f.status.filter((x) => x !== s) : [...f.status, s] })} />{s}</label>
          ))}
        </fieldset>
        <form onSubmit={(e) => { e.preventDefault(); setF({ q: text.trim() }); }} class="inline-form">
          <Field label="Search"><input type="search" value={text} placeholder="address, reason, note, tag" onInput={(e) => setText((e.target as HTMLInputElement).value)} /></Field>
          <Button kind="small" type="submit">Search</Button>
        </form>
        <Field label="Tag"><input type="search" value={f.tag} onChange={(e) => setF({ tag: (e.target as HTMLInputElement).value.trim() })} /></Field>
        <Field label="Sort">
          <select value={f.sort} onChange={(e) => sortBy((e.target as HTMLSelectElement).value)} aria-label="Sort by">
            {sortKeys.map((k) => <option key={k} value={k}>{k === 'value' ? 'address' : k.replace('_', ' ')}</option>)}
          </select>
        </Field>
        <label class="check"><input type="checkbox" checked={f.desc} onChange={() => setF({ desc: !f.desc })} />descending</label>
      </div>
      {canAct && (
        <div class={'bulkbar' + (selected.size ? ' bulkbar-on' : '')} role="toolbar" aria-label="Batch actions">
          <span>{selected.size ? `${formatCount(selected.size)} selected` : `${data.total == null ? '…' : formatCount(count)} addresses`}</span>
          <Button kind="small" disabled={!sel.length} busy={busy === 'enrich'} onClick={() => enrich(sel)}>Enrich</Button>
          <Button kind="small" disabled={!sel.length} onClick={() => setBatch({ status: 'investigating', ips: sel })}>Investigate</Button>
          <Button kind="small" disabled={!sel.length} onClick={() => setBatch({ status: 'blocked', ips: sel })} class="btn-danger">Block…</Button>
          <Button kind="small" disabled={!sel.length} onClick={() => setBatch({ status: 'trusted', ips: sel })}>Trust…</Button>
          <Button kind="small" disabled={!sel.length} onClick={() => setBatch({ status: 'monitoring', ips: sel })}>Monitor</Button>
          <Button kind="small" disabled={!sel.length} onClick={() => setSelected(new Set())}>Clear</Button>
          {sel.length > 0 && sel.length <= 1000 && <a class="btn btn-small" href={investigationHref(sel)} title="Verdict, findings and campaign of the selected addresses">Run investigation</a>}
        </div>
      )}
      <ErrorBox error={data.error} retry={data.reload} />
      <div class={'split' + (f.ip ? ' with-panel' : '')}>
        <VirtualTable label="Monitored IPs" columns={columns} count={count} row={data.row} rowKey={(r) => r.ip} onRange={data.onRange}
          activeIndex={-1} onActivate={(_, r) => setF({ ip: r.ip })} rowClass={(r) => (selected.has(r.ip) ? 'vrow-sel' : '') + (r.ip === f.ip ? ' vrow-active' : '')}
          sort={{ key: f.sort, desc: f.desc }} onSort={sortBy} height="calc(100vh - 300px)"
          empty={data.total == null ? <Spinner /> : <span>No address matches. {canAct && <button class="btn btn-small" onClick={() => setAdding(true)}>Track addresses from traffic</button>}</span>} />
        {f.ip && <IPPanel ip={f.ip} canAct={canAct} onClose={() => setF({ ip: '' })} onChanged={data.reload}
          onStatus={(s) => setBatch({ status: s, ips: [f.ip] })} onEnrich={() => enrich([f.ip])} />}
      </div>
      <StatusDialog batch={batch} onClose={() => setBatch(null)} onSubmit={(reason, duration) => { const b = batch!; setBatch(null); void applyStatus(b.ips, b.status, reason, duration); }} />
      <TrackDialog open={adding} onClose={() => setAdding(false)} onDone={(n) => { setAdding(false); data.reload(); toast(`${formatCount(n)} addresses tracked and enriched`); }} />
      <ExportDialog open={exporting} onClose={() => setExporting(false)} />
    </div>
  );
}

function withParam(k: string, v: string): string {
  const p = new URLSearchParams(location.search);
  p.set(k, v);
  return p.toString();
}

function netLabel(r: IPRecord): string {
  const e = r.enrichment;
  if (!e) return '–';
  const parts = [e.country, e.as_org || e.isp, e.usage_type].filter(Boolean);
  return parts.length ? parts.join(' · ') : e.is_public === false ? 'private' : '–';
}

function netTitle(r: IPRecord): string {
  const e = r.enrichment;
  if (!e) return 'not enriched';
  return [e.country_name, e.city, e.asn && 'AS' + e.asn, e.as_org, e.isp, e.usage_type, e.is_tor && 'Tor exit'].filter(Boolean).join(', ');
}

function StatusDialog(p: { batch: Batch; onClose: () => void; onSubmit: (reason: string, duration: string) => void }) {
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('7d');
  const b = p.batch;
  const needsReason = b?.status === 'blocked' || b?.status === 'trusted';
  const verb = b?.status === 'blocked' ? 'Block' : b?.status === 'trusted' ? 'Trust' : b?.status === 'investigating' ? 'Investigate' : 'Monitor';
  return (
    <Dialog open={!!b} title={`${verb} ${b?.ips.length ?? 0} address${b?.ips.length === 1 ? '' : 'es'}`} onClose={p.onClose}>
      <form onSubmit={(e) => { e.preventDefault(); p.onSubmit(reason.trim(), b?.status === 'blocked' || b?.status === 'trusted' ? duration : ''); setReason(''); }}>
        <p class="mono small ip-list">{b?.ips.slice(0, 12).join(', ')}{(b?.ips.length ?? 0) > 12 && ` and ${b!.ips.length - 12} more`}</p>
        {(b?.status === 'blocked' || b?.status === 'trusted') && (
          <Field label="For">
            <select value={duration} onChange={(e) => setDuration((e.target as HTMLSelectElement).value)}>
              <option value="1h">1 hour</option><option value="24h">24 hours</option><option value="7d">7 days</option><option value="30d">30 days</option><option value="">until changed</option>
            </select>
          </Field>
        )}
        <Field label={needsReason ? 'Reason (required)' : 'Reason'} hint="Kept in the history and shown to whoever looks next.">
          <input required={needsReason} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} placeholder={b?.status === 'blocked' ? 'e.g. exfiltration through /admin/export' : ''} />
        </Field>
        {b?.status === 'blocked' && <p class="small muted">Blocked addresses are in the blocklist exports and in the CrowdSec decisions stream. Trusted beats blocked.</p>}
        <div class="dialog-actions"><Button type="button" onClick={p.onClose}>Cancel</Button><Button kind={b?.status === 'blocked' ? 'danger' : 'primary'} type="submit">{verb}</Button></div>
      </form>
    </Dialog>
  );
}

/** TrackDialog adds addresses to monitoring: pasted, or the top callers from traffic. */
function TrackDialog(p: { open: boolean; onClose: () => void; onDone: (n: number) => void }) {
  const [mode, setMode] = useState<'traffic' | 'paste'>('traffic');
  const [since, setSince] = useState('7');
  const [endpoint, setEndpoint] = useState('');
  const [order, setOrder] = useState<'bytes' | 'requests'>('bytes');
  const [limit, setLimit] = useState(200);
  const [pasted, setPasted] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [progress, setProgress] = useState('');

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      let ips: string[];
      if (mode === 'paste') {
        ips = pasted.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
      } else {
        const ep = endpoint.trim();
        const sql = [
          'SELECT peer_ip, count() AS requests, sum(response_bytes) AS bytes',
          'FROM traces',
          `WHERE span_kind = 'Server' AND peer_ip != '' AND timestamp > now() - INTERVAL ${Number(since) || 7} DAY`,
          ep ? `  AND (if(http_route != '', http_route, http_path) = ${sqlString(ep)} OR http_path = ${sqlString(ep)})` : '',
          'GROUP BY peer_ip',
          `ORDER BY ${order} DESC`,
          `LIMIT ${Math.min(10000, Math.max(1, limit))}`,
        ].filter(Boolean).join('\n');
        setProgress('Finding the callers…');
        const res = await api.post<QueryResult>('/sql', { sql });
        ips = res.rows.map((r) => String(r.peer_ip));
      }
      if (!ips.length) {
        setError('No address to track.');
        return;
      }
      let done = 0;
      for (let i = 0; i < ips.length; i += 1000) {
        setProgress(`Enriching ${formatCount(done)} / ${formatCount(ips.length)}…`);
        await api.post<EnrichResult>('/ips/enrich', { ips: ips.slice(i, i + 1000) });
        done = Math.min(ips.length, i + 1000);
      }
      setProgress('');
      p.onDone(ips.length);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
      setProgress('');
    }
  };

  return (
    <Dialog open={p.open} title="Track addresses" onClose={p.onClose}>
      <form onSubmit={run}>
        <div class="seg" role="radiogroup" aria-label="Source">
          <button type="button" role="radio" aria-checked={mode === 'traffic'} class={'seg-btn' + (mode === 'traffic' ? ' seg-on' : '')} onClick={() => setMode('traffic')}>Top callers from traffic</button>
          <button type="button" role="radio" aria-checked={mode === 'paste'} class={'seg-btn' + (mode === 'paste' ? ' seg-on' : '')} onClick={() => setMode('paste')}>Paste addresses</button>
        </div>
        {mode === 'traffic' ? (
          <div class="form-grid">
            <Field label="Window"><select value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}><option value="1">last day</option><option value="7">last 7 days</option><option value="30">last 30 days</option></select></Field>
            <Field label="Endpoint (optional)" hint="a path or route template, e.g. /v1/admin/export"><input class="mono" value={endpoint} onInput={(e) => setEndpoint((e.target as HTMLInputElement).value)} /></Field>
            <Field label="Ranked by"><select value={order} onChange={(e) => setOrder((e.target as HTMLSelectElement).value as 'bytes' | 'requests')}><option value="bytes">bytes returned</option><option value="requests">requests</option></select></Field>
            <Field label="How many"><input type="number" min={1} max={10000} value={limit} onInput={(e) => setLimit(Number((e.target as HTMLInputElement).value))} /></Field>
          </div>
        ) : (
          <Field label="Addresses or ranges" hint="One per line, or separated by commas; ranges in CIDR notation are expanded (10,000 at most).">
            <textarea rows={6} class="mono" value={pasted} onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)} />
          </Field>
        )}
        <p class="small muted">Tracked addresses are enriched (geo, ASN, AbuseIPDB when configured) and get their traffic figures; they start as monitoring.</p>
        <ErrorBox error={error} />
        {progress && <p class="small" role="status">{progress}</p>}
        <div class="dialog-actions"><Button type="button" onClick={p.onClose}>Cancel</Button><Button kind="primary" type="submit" busy={busy}>Track</Button></div>
      </form>
    </Dialog>
  );
}

const formats = ['plain', 'nginx', 'nginx-geo', 'ipset', 'nftables', 'aws-wafv2', 'cloudflare'];

function ExportDialog(p: { open: boolean; onClose: () => void }) {
  const [format, setFormat] = useState('plain');
  const res = useLoad(p.open ? format : null, () => fetchText(`/blocklist?format=${encodeURIComponent(format)}`));
  const warnings = res.data?.headers.get('X-Tracehound-Warning');
  return (
    <Dialog open={p.open} title="Blocklist export" onClose={p.onClose} wide>
      <Field label="Format">
        <select value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>{formats.map((f) => <option key={f} value={f}>{f}</option>)}</select>
      </Field>
      <ErrorBox error={res.error} />
      {res.loading && !res.data ? <Spinner /> : res.data && (
        <>
          <p class="small muted">{res.data.headers.get('X-Tracehound-Exported') ?? '?'} exported of {res.data.headers.get('X-Tracehound-Entries') ?? '?'} entries{Number(res.data.headers.get('X-Tracehound-Left-Out')) > 0 && `, ${res.data.headers.get('X-Tracehound-Left-Out')} left out`}. {warnings}</p>
          <Code label={`blocklist (${format})`}>{res.data.text || '(empty: nothing is blocked)'}</Code>
          <p class="small"><a href={`/api/v1/blocklist?format=${encodeURIComponent(format)}`} download={`blocklist-${format}.txt`}>Download</a> · CrowdSec bouncers pull the same set from <code>/v1/decisions/stream</code>.</p>
        </>
      )}
    </Dialog>
  );
}

function IPPanel(p: { ip: string; canAct: boolean; onClose: () => void; onChanged: () => void; onStatus: (s: (typeof ipStatuses)[number]) => void; onEnrich: () => void }) {
  const toast = useToast();
  const d = useLoad(p.ip, (signal) => api.get<IPDetail>(`/ips/${encodeURIComponent(p.ip)}`, signal));
  const r = d.data;
  const e = r?.enrichment;
  const undo = async (id: number) => {
    try {
      await api.post(`/ips/undo/${id}`, {});
      toast(`Change #${id} undone`);
      d.reload();
      p.onChanged();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  const top = useMemo(() => r?.traffic.top_endpoints ?? [], [r]);
  return (
    <aside class="panel" aria-label={`IP ${p.ip}`}>
      <header class="panel-head">
        <div>
          <div class="muted small">IP address</div>
          <h2 class="mono">{p.ip}</h2>
          {r && <div class="chips"><Badge kind={'ip-' + r.effective}>effective: {r.effective}</Badge>{r.tracked && <Badge kind={'ip-' + r.status}>{r.status}</Badge>}{r.expires_at && <Badge kind="muted">until {formatTime(r.expires_at)}</Badge>}</div>}
        </div>
        <button class="btn btn-ghost" aria-label="Close the IP details" onClick={p.onClose}>✕</button>
      </header>
      <ErrorBox error={d.error} retry={d.reload} />
      {!r ? <Spinner /> : (
        <>
          {p.canAct ? (
            <div class="panel-section panel-actions">
              <Button kind="small" onClick={p.onEnrich}>Enrich</Button>
              <Button kind="small" onClick={() => p.onStatus('investigating')}>Investigate</Button>
              <Button kind="small" class="btn-danger" onClick={() => p.onStatus('blocked')}>Block…</Button>
              <Button kind="small" onClick={() => p.onStatus('trusted')}>Trust…</Button>
              <a class="btn btn-small" href={`/traces?ip=${encodeURIComponent(p.ip)}&since=7d`}>Traces</a>
              <a class="btn btn-small" href={`/forensics?q=${encodeURIComponent(`requests from ${p.ip} by day`)}`}>Ask</a>
              <a class="btn btn-small" href={investigationHref([p.ip])}>Run investigation</a>
            </div>
          ) : (
            <div class="panel-section panel-actions">
              <a class="btn btn-small" href={investigationHref([p.ip])}>Run investigation</a>
            </div>
          )}
          {r.reason && <div class="panel-section small">{r.reason} <span class="muted">({r.source}, by {r.updated_by})</span></div>}
          <div class="panel-section">
            <h3>Enrichment {r.enriched_at && <span class="muted small">· {formatRelative(r.enriched_at)}</span>}</h3>
            {!e ? <p class="muted small">Not enriched yet.</p> : (
              <KV rows={[
                ['Country', [e.country_name || e.country, e.city].filter(Boolean).join(', ') || '–'],
                ['Network', [e.asn && 'AS' + e.asn, e.as_org, e.isp].filter(Boolean).join(' · ') || '–'],
                ['Usage type', e.usage_type || '–'],
                ['AbuseIPDB', e.sources?.includes('abuseipdb') ? <span><Meter value={e.abuse_confidence ?? 0} label="abuse confidence" /> {formatCount(e.total_reports)} reports by {formatCount(e.distinct_reporters)} users{e.last_reported && `, last ${formatRelative(e.last_reported)}`}</span> : <span class="muted">{e.not_enriched?.abuseipdb ?? 'not queried'}</span>],
                ['Hostnames', e.hostnames?.join(', ') || '–'],
                ['Tor exit', e.is_tor ? 'yes' : 'no'],
                ['Sources', e.sources?.join(', ') || 'none'],
              ]} />
            )}
          </div>
          <div class="panel-section">
            <h3>Traffic <span class="muted small">since {formatTime(r.traffic.since)}</span></h3>
            <KV rows={[
              ['Requests', formatCount(r.traffic.requests)],
              ['Returned', formatBytes(r.traffic.response_bytes)],
              ['Errors', `${formatCount(r.traffic.client_errors)} 4xx · ${formatCount(r.traffic.server_errors)} 5xx`],
              ['API keys / endpoints', `${formatCount(r.traffic.api_keys)} / ${formatCount(r.traffic.endpoints)}`],
              ['First / last seen', `${formatTime(r.traffic.first_seen)} / ${formatTime(r.traffic.last_seen)}`],
            ]} />
            {top.length > 0 && (
              <table class="table table-compact" aria-label="Top endpoints">
                <thead><tr><th>Endpoint</th><th class="num">Requests</th><th class="num">Bytes</th></tr></thead>
                <tbody>{top.map((t) => <tr key={t.method + t.path}><td class="mono small">{t.method} {t.path}</td><td class="num">{formatCount(t.requests)}</td><td class="num">{formatBytes(t.bytes)}</td></tr>)}</tbody>
              </table>
            )}
          </div>
          {!!r.covered_by?.length && (
            <div class="panel-section">
              <h3>Covered by</h3>
              <ul>{r.covered_by.map((c) => <li key={c.ip}><span class="mono">{c.ip}</span> <Badge kind={'ip-' + c.status}>{c.status}</Badge> {c.reason}</li>)}</ul>
            </div>
          )}
          <div class="panel-section">
            <h3>History</h3>
            {!r.history?.length ? <p class="muted small">No change yet.</p> : (
              <ol class="timeline">
                {r.history.map((h) => {
                  const item = h.items.find((i) => i.ip === p.ip) ?? h.items[0];
                  return (
                    <li key={h.id}>
                      <span class="tl-time">{formatTime(h.at)}</span>
                      <span>
                        <b>{h.actor}</b> {h.action}{item && <> {item.before?.status ?? 'none'} → {item.after?.status ?? 'none'}</>}{h.reason && <>: <i>{h.reason}</i></>}
                        {h.items.length > 1 && <span class="muted small"> ({h.items.length} addresses)</span>}
                        {h.undone_by ? <span class="muted small"> · undone by #{h.undone_by}</span> : p.canAct && h.action !== 'undo' && <> <button class="btn btn-small" onClick={() => undo(h.id)}>Undo</button></>}
                      </span>
                    </li>
                  );
                })}
              </ol>
            )}
          </div>
        </>
      )}
    </aside>
  );
}
