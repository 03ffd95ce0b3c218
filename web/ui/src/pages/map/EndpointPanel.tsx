// The endpoint panel: what the map knows of one endpoint — flags, tags and
// their evidence, auth, callers, status mix, latency — and what to do next.
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Chips, KV, Meter, StackBar } from '../../components/ui';
import { useCan, useToast } from '../../hooks';
import { formatBytes, formatCount, formatMs, formatTime } from '../../lib/format';
import type { Endpoint, EnrichResult, IPStatusResult } from '../../lib/types';
import { navigate } from '../../router';

export function EndpointPanel({ ep, onClose, onReviewed }: { ep: Endpoint; onClose: () => void; onReviewed: () => void }) {
  const canAct = useCan('analyst');
  const toast = useToast();
  const [busy, setBusy] = useState('');
  const name = `${ep.method} ${ep.template}`;
  const topIPs = ep.callers?.top_ips ?? [];
  const tag = 'endpoint:' + name;

  const review = async (status: string) => {
    setBusy(status);
    try {
      await api.put(`/map/endpoints/${ep.id}/review`, { status });
      toast(`${name} marked ${status}`);
      onReviewed();
    } catch (e) {
      toast(errorMessage(e), 'error');
    } finally {
      setBusy('');
    }
  };

  const investigateCallers = async () => {
    const ips = topIPs.map((c) => c.id);
    setBusy('callers');
    try {
      const en = await api.post<EnrichResult>('/ips/enrich', { ips });
      await api.post<IPStatusResult>('/ips/status', {
        ips, status: 'investigating', tags: [tag], reason: `top callers of ${ep.shadow ? 'shadow endpoint ' : ''}${name}`,
      });
      toast(`${ips.length} callers enriched${en.warning ? ' (' + en.warning + ')' : ''} and marked investigating`, 'ok', {
        label: 'Open in IPs', run: () => navigate(`/ips?tag=${encodeURIComponent(tag)}`),
      });
    } catch (e) {
      toast(errorMessage(e), 'error');
    } finally {
      setBusy('');
    }
  };

  const st = ep.status;
  const question = `Show all requests to ${ep.template} in the last 7 days`;
  return (
    <aside class="panel" aria-label={`Endpoint ${name}`}>
      <header class="panel-head">
        <div>
          <div class="muted small">{ep.service}</div>
          <h2 class="mono" id="endpoint-title">{name}</h2>
          <div class="chips">
            {ep.shadow && <Badge kind="shadow" title={ep.shadow_reason}>shadow{ep.shadow_reason ? ': ' + ep.shadow_reason.replace(/_/g, ' ') : ''}</Badge>}
            {ep.zombie && <Badge kind="zombie" title={ep.zombie_kind}>zombie{ep.zombie_kind ? ': ' + ep.zombie_kind.replace(/_/g, ' ') : ''}</Badge>}
            {ep.new && <Badge kind="new">new</Badge>}
            {ep.documented ? <Badge kind="ok">documented</Badge> : <Badge kind="warn">undocumented</Badge>}
            {ep.review && <Badge kind={'rv-' + ep.review.status}>{ep.review.status}</Badge>}
          </div>
        </div>
        <button class="btn btn-ghost" aria-label="Close the endpoint panel" onClick={onClose}>✕</button>
      </header>

      <div class="panel-section">
        <div class="risk-line"><span>Risk</span><Meter value={ep.risk_score} label="risk score" /></div>
        {!!ep.risk_factors?.length && (
          <div class="chips">{ep.risk_factors.map((f) => <Badge key={f.factor}>{f.factor.replace(/_/g, ' ')} +{f.points}</Badge>)}</div>
        )}
      </div>

      <div class="panel-section">
        <h3>Tags and evidence</h3>
        <div class="chips"><Chips items={ep.tags} /> <Chips items={ep.sensitivity} kind="sens" /></div>
        {ep.evidence && Object.keys(ep.evidence).length > 0 && (
          <ul class="evidence">
            {Object.entries(ep.evidence).map(([t, why]) => <li key={t}><b>{t.replace(/_/g, ' ')}</b>: {why.join('; ')}</li>)}
          </ul>
        )}
      </div>

      <div class="panel-section">
        <KV rows={[
          ['Requests', formatCount(ep.hits)],
          ['First seen', formatTime(ep.first_seen)],
          ['Last seen', formatTime(ep.last_seen)],
          ['Auth', ep.auth ? `${ep.auth.state}${ep.auth.unauthenticated ? ` · ${formatCount(ep.auth.unauthenticated)} unauthenticated (${formatCount(ep.auth.unauthenticated_2xx)} succeeded)` : ''}` : '–'],
          ['Responses', ep.bytes ? `${formatBytes(ep.bytes.avg_response)} avg · ${formatBytes(ep.bytes.max_response)} max · ${formatBytes(ep.bytes.out)} total` : '–'],
          ['Latency', ep.latency ? `p50 ${formatMs(ep.latency.p50_ms)} · p95 ${formatMs(ep.latency.p95_ms)} · p99 ${formatMs(ep.latency.p99_ms)}` : '–'],
          ['Hosts', ep.hosts?.join(', ') || '–'],
          ['Found by', ep.source ?? '–'],
        ]} />
      </div>

      {st && (
        <div class="panel-section">
          <h3>Status mix</h3>
          <StackBar label="Status classes" parts={[
            { label: '2xx', value: st['2xx'], kind: 'ok' }, { label: '3xx', value: st['3xx'], kind: 'info' },
            { label: '4xx', value: st['4xx'], kind: 'warn' }, { label: '5xx', value: st['5xx'], kind: 'err' },
          ]} />
          {st.codes && <div class="muted small">{Object.entries(st.codes).map(([c, n]) => `${c}: ${formatCount(n)}`).join(' · ')}</div>}
        </div>
      )}

      <div class="panel-section">
        <h3>Callers <span class="muted small">{formatCount(ep.callers?.ips ?? 0)} IPs · {formatCount(ep.callers?.api_keys ?? 0)} API keys</span></h3>
        {topIPs.length > 0 && (
          <table class="table table-compact" aria-label="Top calling IPs">
            <thead><tr><th>IP</th><th class="num">Requests</th><th /></tr></thead>
            <tbody>
              {topIPs.map((c) => (
                <tr key={c.id}>
                  <td><a class="mono" href={`/ips?ip=${encodeURIComponent(c.id)}`}>{c.id}</a></td>
                  <td class="num">{formatCount(c.hits)}</td>
                  <td><a class="small" href={`/traces?ip=${encodeURIComponent(c.id)}&endpoint=${encodeURIComponent(ep.template)}&since=7d`}>traces</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {!!ep.callers?.top_api_keys?.length && (
          <table class="table table-compact" aria-label="Top API keys">
            <thead><tr><th>API key</th><th class="num">Requests</th></tr></thead>
            <tbody>{ep.callers.top_api_keys.map((c) => <tr key={c.id}><td class="mono">{c.id}</td><td class="num">{formatCount(c.hits)}</td></tr>)}</tbody>
          </table>
        )}
        {canAct && topIPs.length > 0 && (
          <Button kind="small" busy={busy === 'callers'} onClick={investigateCallers} title="Enrich the top callers and mark them investigating, tagged with this endpoint">
            Investigate these {topIPs.length} callers
          </Button>
        )}
      </div>

      {!!ep.query_params?.length && (
        <div class="panel-section">
          <h3>Query parameters</h3>
          <div class="chips">{ep.query_params.map((q) => <Badge key={q.name}>{q.name}: {q.type} · {formatCount(q.hits)}</Badge>)}</div>
        </div>
      )}

      <div class="panel-section panel-actions">
        <a class="btn" href={`/traces?endpoint=${encodeURIComponent(ep.template)}&service=${encodeURIComponent(ep.service)}&since=7d`}>Open traces</a>
        <a class="btn" href={`/forensics?q=${encodeURIComponent(question)}`}>Ask about it</a>
        {canAct && <a class="btn" href={`/rules/new?method=${encodeURIComponent(ep.method)}&template=${encodeURIComponent(ep.template)}&service=${encodeURIComponent(ep.service)}`}>Create rule</a>}
        {canAct && <Button busy={busy === 'approved'} onClick={() => review('approved')}>Approve</Button>}
        {canAct && <Button kind="danger" busy={busy === 'flagged'} onClick={() => review('flagged')}>Flag</Button>}
      </div>
    </aside>
  );
}
