// Overview: traffic, open notifications by severity, the riskiest
// endpoints and IPs, and what the last snapshot found new.
import { api } from '../../api';
import { BarChart } from '../../components/BarChart';
import { Badge, Card, Empty, ErrorBox, Meter, Spinner, Stat } from '../../components/ui';
import { useLoad, usePoll, useTitle } from '../../hooks';
import { formatBytes, formatCompact, formatCount, formatDay, formatRelative, formatTime } from '../../lib/format';
import { severities } from '../../lib/triage';
import type { IPList, MapResult, NotificationPage, QueryResult, SnapshotInfo, Status } from '../../lib/types';

const trafficSQL = `SELECT toStartOfDay(timestamp) AS day, count() AS requests, countIf(status_code >= 500) AS errors
FROM traces
WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 7 DAY
GROUP BY day
ORDER BY day`;

export function OverviewPage() {
  useTitle('Overview');
  const status = useLoad('status', (s) => api.get<Status>('/status', s));
  const traffic = useLoad('traffic', () => api.post<QueryResult>('/sql', { sql: trafficSQL }));
  const sev = useLoad('sev', () => Promise.all(severities.map((s) =>
    api.get<NotificationPage>(`/alerts?status=open,investigating&severity=${s}&limit=1`).then((p) => [s, p.total] as const))));
  const map = useLoad('map', (s) => api.get<MapResult>('/map', s));
  const ips = useLoad('ips', (s) => api.get<IPList>('/ips?sort=bytes&desc=true&limit=8', s));
  const snaps = useLoad('snaps', (s) => api.get<{ snapshots: SnapshotInfo[] }>('/map/snapshots', s));
  usePoll(() => { sev.reload(); status.reload(); }, 10000);

  const st = status.data;
  const openTotal = sev.data?.reduce((a, [, n]) => a + n, 0) ?? 0;
  const endpoints = map.data?.endpoints ?? [];
  const risky = [...endpoints].sort((a, b) => b.risk_score - a.risk_score || b.hits - a.hits).slice(0, 8);
  const fresh = endpoints.filter((e) => e.new);
  const lastSnap = snaps.data?.snapshots?.[0];
  const days = (traffic.data?.rows ?? []).map((r) => ({ label: formatDay(String(r.day)), value: Number(r.requests) || 0, errors: Number(r.errors) || 0 }));

  return (
    <div class="page">
      <h1>Overview</h1>
      <div class="stats">
        <Stat label="spans stored" value={st ? formatCompact(st.spans) : '…'} hint={st?.newest ? 'newest ' + formatRelative(st.newest) : undefined} />
        <Stat label="open notifications" value={sev.data ? formatCount(openTotal) : '…'} kind={openTotal ? 'warn' : undefined} hint={<a href="/notifications">triage queue →</a>} />
        <Stat label="endpoints on the map" value={map.data ? formatCount(endpoints.length) : '…'} hint={map.data ? `${endpoints.filter((e) => e.shadow).length} shadow · ${endpoints.filter((e) => e.zombie).length} zombie` : undefined} />
        <Stat label="on disk" value={st ? formatBytes(st.disk_bytes) : '…'} hint={st ? `retention ${st.retention_days} d` : undefined} />
      </div>
      <ErrorBox error={status.error} retry={status.reload} />
      <div class="grid-2">
        <Card title="Traffic, last 7 days" actions={<a href="/forensics?tab=sql">SQL console →</a>}>
          {traffic.error ? <ErrorBox error={traffic.error} /> : !traffic.data ? <Spinner /> : days.length ? (
            <BarChart label="Requests per day" unit="requests" points={days.map((d) => ({ label: d.label, value: d.value, title: `${d.label}: ${d.value.toLocaleString('en-US')} requests, ${d.errors.toLocaleString('en-US')} 5xx` }))} />
          ) : <Empty>No traffic in the last 7 days. Point an OpenTelemetry SDK at the OTLP port.</Empty>}
        </Card>
        <Card title="Open notifications by severity" actions={<a href="/notifications">Open the queue →</a>}>
          {sev.error ? <ErrorBox error={sev.error} /> : !sev.data ? <Spinner /> : (
            <ul class="sevlist">
              {sev.data.map(([s, n]) => (
                <li key={s}>
                  <a href={`/notifications?severity=${s}`}><Badge kind={s === 'critical' ? 'crit' : s === 'high' ? 'high' : s === 'medium' ? 'med' : 'low'}>{s}</Badge></a>
                  <span class="sevbar"><span class={'sevfill sev-' + s} style={{ width: (openTotal ? (n / openTotal) * 100 : 0) + '%' }} /></span>
                  <span class="num">{formatCount(n)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Riskiest endpoints" actions={<a href="/map?view=table">API map →</a>}>
          {map.error ? <ErrorBox error={map.error} /> : !map.data ? <Spinner /> : risky.length ? (
            <table class="table">
              <thead><tr><th>Endpoint</th><th>Flags</th><th class="num">Hits</th><th>Risk</th></tr></thead>
              <tbody>
                {risky.map((e) => (
                  <tr key={e.id}>
                    <td><a class="mono" href={`/map?ep=${e.id}`}>{e.method} {e.template}</a></td>
                    <td>{e.shadow && <Badge kind="shadow">shadow</Badge>}{e.zombie && <Badge kind="zombie">zombie</Badge>}{e.new && <Badge kind="new">new</Badge>}</td>
                    <td class="num">{formatCompact(e.hits)}</td>
                    <td><Meter value={e.risk_score} label={`risk of ${e.method} ${e.template}`} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : <Empty>No endpoints yet.</Empty>}
        </Card>
        <Card title="Top monitored IPs by bytes" actions={<a href="/ips?sort=bytes&desc=1">IPs →</a>}>
          {ips.error ? <ErrorBox error={ips.error} /> : !ips.data ? <Spinner /> : ips.data.ips.length ? (
            <table class="table">
              <thead><tr><th>IP</th><th>Status</th><th class="num">Requests</th><th class="num">Bytes</th></tr></thead>
              <tbody>
                {ips.data.ips.map((r) => (
                  <tr key={r.ip}>
                    <td><a class="mono" href={`/ips?ip=${encodeURIComponent(r.ip)}`}>{r.ip}</a></td>
                    <td><Badge kind={'ip-' + r.status}>{r.status}</Badge></td>
                    <td class="num">{formatCompact(r.requests)}</td>
                    <td class="num">{formatBytes(r.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : <Empty>No IPs monitored yet. <a href="/ips">Track client addresses from traffic →</a></Empty>}
        </Card>
        <Card title="New since the last snapshot" class="span-2" actions={lastSnap && <span class="muted small">snapshot #{lastSnap.id} · {formatTime(lastSnap.taken_at)} · {lastSnap.new_endpoints} new of {lastSnap.endpoints}</span>}>
          {!map.data ? <Spinner /> : fresh.length ? (
            <ul class="newlist">
              {fresh.slice(0, 12).map((e) => (
                <li key={e.id}>
                  <a class="mono" href={`/map?ep=${e.id}`}>{e.method} {e.template}</a>
                  {e.shadow && <Badge kind="shadow">shadow</Badge>}
                  <span class="muted small">first seen {formatTime(e.first_seen)} · {formatCompact(e.hits)} hits</span>
                </li>
              ))}
            </ul>
          ) : <Empty>Nothing new on the map.</Empty>}
        </Card>
      </div>
    </div>
  );
}
