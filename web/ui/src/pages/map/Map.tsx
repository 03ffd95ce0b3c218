// The API map: the circle pack (service → prefix → endpoint, area =
// traffic, colour = risk, shadow and zombie outlined), the endpoint table
// and the endpoint panel. Filters live in the URL.
import { useMemo } from 'preact/hooks';
import { api } from '../../api';
import { VirtualTable, type Column } from '../../components/VirtualTable';
import { Badge, Card, Empty, ErrorBox, Field, Meter, SinceSelect, Spinner, Tabs } from '../../components/ui';
import { useFilters, useLoad, useTitle } from '../../hooks';
import { formatBytes, formatCompact, formatCount, formatMs, formatTime } from '../../lib/format';
import { apiQuery } from '../../lib/query';
import { filterEndpoints } from '../../lib/tree';
import type { Endpoint, MapResult } from '../../lib/types';
import { CirclePack } from './CirclePack';
import { EndpointPanel } from './EndpointPanel';

const schema = {
  only: { kind: 'enum', values: ['', 'shadow', 'zombie', 'new', 'sensitive'], default: '' },
  since: { kind: 'enum', values: ['24h', '7d', '30d'], default: '7d' },
  service: { kind: 'string' },
  q: { kind: 'string' },
  risk: { kind: 'number', min: 0, max: 100 },
  view: { kind: 'enum', values: ['pack', 'table'], default: 'pack' },
  size: { kind: 'enum', values: ['traffic', 'log'], default: 'traffic' },
  sort: { kind: 'enum', values: ['risk', 'hits', 'template', 'first_seen', 'last_seen', 'p95', 'bytes'], default: 'risk' },
  asc: { kind: 'bool' },
  ep: { kind: 'string' },
} as const;

const onlyLabels: [string, string][] = [['', 'All'], ['shadow', 'Shadow'], ['zombie', 'Zombie'], ['new', 'New'], ['sensitive', 'Sensitive']];

function sortValue(e: Endpoint, key: string): number | string {
  switch (key) {
    case 'hits': return e.hits;
    case 'template': return e.template + ' ' + e.method;
    case 'first_seen': return e.first_seen ?? '';
    case 'last_seen': return e.last_seen ?? '';
    case 'p95': return e.latency?.p95_ms ?? 0;
    case 'bytes': return e.bytes?.avg_response ?? 0;
    default: return e.risk_score * 1e12 + e.hits;
  }
}

export function MapPage() {
  useTitle('API map');
  const [f, setF] = useFilters(schema);
  const map = useLoad(`${f.only}|${f.since}|${f.service}`, (signal) =>
    api.get<MapResult>('/map' + apiQuery({ only: f.only, since: f.since, service: f.service }), signal));

  const shown = useMemo(() => filterEndpoints(map.data?.endpoints ?? [], f.q, f.risk), [map.data, f.q, f.risk]);
  const sorted = useMemo(() => {
    const out = [...shown];
    const dir = f.asc ? 1 : -1;
    out.sort((a, b) => {
      const x = sortValue(a, f.sort);
      const y = sortValue(b, f.sort);
      return (x < y ? -1 : x > y ? 1 : 0) * (f.sort === 'template' ? -dir : dir);
    });
    return out;
  }, [shown, f.sort, f.asc]);
  const selected = f.ep ? (map.data?.endpoints ?? []).find((e) => e.id === f.ep) : undefined;
  const services = useMemo(() => [...new Set((map.data?.endpoints ?? []).map((e) => e.service))].sort(), [map.data]);

  const columns: Column<Endpoint>[] = [
    { key: 'ep', label: 'Endpoint', width: 'minmax(240px,3fr)', sortKey: 'template', render: (e) => <button class="linkish mono" onClick={() => setF({ ep: e.id })}>{e.method} {e.template}</button> },
    { key: 'svc', label: 'Service', width: 'minmax(100px,1fr)', render: (e) => <span class="small">{e.service}</span> },
    { key: 'flags', label: 'Flags', width: 'minmax(120px,1.2fr)', render: (e) => <span class="chips">{e.shadow && <Badge kind="shadow">shadow</Badge>}{e.zombie && <Badge kind="zombie">zombie</Badge>}{e.new && <Badge kind="new">new</Badge>}{e.sensitivity.map((s) => <Badge key={s} kind="sens">{s}</Badge>)}</span> },
    { key: 'risk', label: 'Risk', width: '110px', sortKey: 'risk', render: (e) => <Meter value={e.risk_score} label={`risk of ${e.method} ${e.template}`} /> },
    { key: 'hits', label: 'Hits', width: '80px', align: 'right', sortKey: 'hits', render: (e) => formatCompact(e.hits) },
    { key: 'callers', label: 'IPs', width: '60px', align: 'right', render: (e) => formatCompact(e.callers?.ips ?? 0) },
    { key: 'auth', label: 'Auth', width: '90px', render: (e) => <span class="small">{e.auth?.state ?? '–'}</span> },
    { key: 'p95', label: 'p95', width: '80px', align: 'right', sortKey: 'p95', render: (e) => formatMs(e.latency?.p95_ms) },
    { key: 'bytes', label: 'Avg resp.', width: '90px', align: 'right', sortKey: 'bytes', render: (e) => formatBytes(e.bytes?.avg_response) },
    { key: 'first', label: 'First seen', width: '150px', sortKey: 'first_seen', render: (e) => <span class="small">{formatTime(e.first_seen)}</span> },
  ];

  return (
    <div class="page page-wide">
      <div class="page-head">
        <h1>API map</h1>
        <div class="muted small">
          {map.data && <>{formatCount(map.data.endpoints.length)} endpoints · {formatTime(map.data.since)} – {formatTime(map.data.until)} · specs: {map.data.specs.length ? map.data.specs.join(', ') : 'none registered'}{map.data.unrouted.requests > 0 && ` · ${formatCount(map.data.unrouted.requests)} unrouted requests`}</>}
        </div>
      </div>
      <div class="toolbar" role="search" aria-label="Filter the map">
        <div class="seg" role="radiogroup" aria-label="Show">
          {onlyLabels.map(([v, l]) => (
            <button key={v} role="radio" aria-checked={f.only === v} class={'seg-btn' + (f.only === v ? ' seg-on' : '')} onClick={() => setF({ only: v })}>{l}</button>
          ))}
        </div>
        <SinceSelect value={f.since} onChange={(v) => setF({ since: v })} options={['24h', '7d', '30d']} />
        <Field label="Service">
          <select value={f.service} onChange={(e) => setF({ service: (e.target as HTMLSelectElement).value })}>
            <option value="">all</option>
            {services.map((s) => <option key={s} value={s}>{s}</option>)}
            {f.service && !services.includes(f.service) && <option value={f.service}>{f.service}</option>}
          </select>
        </Field>
        <Field label="Search">
          <input type="search" placeholder="path, method, tag" value={f.q} onInput={(e) => setF({ q: (e.target as HTMLInputElement).value })} />
        </Field>
        <Field label="Min. risk">
          <input type="number" min={0} max={100} step={10} value={f.risk ?? ''} class="narrow" onInput={(e) => { const v = (e.target as HTMLInputElement).value; setF({ risk: v === '' ? null : Number(v) }); }} />
        </Field>
        <Tabs label="View" tabs={[['pack', 'Circle pack'], ['table', 'Table']]} value={f.view as 'pack' | 'table'} onChange={(v) => setF({ view: v })} />
      </div>
      <ErrorBox error={map.error} retry={map.reload} />
      <div class={'map-layout' + (selected ? ' with-panel' : '')}>
        <div class="map-main">
          {!map.data ? <Card><Spinner label="Building the map" /></Card> : shown.length === 0 ? (
            <Card><Empty>{f.only ? `No ${f.only} endpoints in this window.` : 'No endpoint matches.'}</Empty></Card>
          ) : f.view === 'pack' ? (
            <Card><CirclePack endpoints={shown} selected={f.ep} onSelect={(e) => setF({ ep: e.id })} size={f.size as 'traffic' | 'log'} onSize={(s) => setF({ size: s })} /></Card>
          ) : (
            <VirtualTable label="Endpoints" columns={columns} count={sorted.length} row={(i) => sorted[i]} rowKey={(e) => e.id}
              activeIndex={sorted.findIndex((e) => e.id === f.ep)} onActivate={(_, e) => setF({ ep: e.id })}
              sort={{ key: f.sort, desc: !f.asc }} onSort={(k) => setF(k === f.sort ? { asc: !f.asc } : { sort: k, asc: false })}
              height="calc(100vh - 260px)" />
          )}
        </div>
        {selected && <EndpointPanel ep={selected} onClose={() => setF({ ep: '' })} onReviewed={map.reload} />}
        {f.ep && map.data && !selected && (
          <aside class="panel"><p>The selected endpoint is not in this view. <button class="btn btn-small" onClick={() => setF({ ep: '', only: '', q: '', risk: null })}>Show all endpoints</button></p></aside>
        )}
      </div>
    </div>
  );
}
