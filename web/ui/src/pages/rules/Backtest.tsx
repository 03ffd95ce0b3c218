// A backtest's result: firings and notifications per day as a bar chart,
// a strip of when each instance fired, and the detection gap.
import { BarChart } from '../../components/BarChart';
import { KV } from '../../components/ui';
import { formatCount, formatDay, formatDuration, formatTime } from '../../lib/format';
import type { BacktestResult } from '../../lib/types';

/** days lists every UTC day from → to, so quiet days show as empty bars. */
export function days(from: string, to: string): string[] {
  const out: string[] = [];
  const start = new Date(from);
  start.setUTCHours(0, 0, 0, 0);
  const end = Date.parse(to);
  for (let t = start.getTime(); t <= end && out.length < 400; t += 86400000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export function BacktestView({ bt }: { bt: BacktestResult }) {
  const per = new Map(bt.per_day.map((d) => [d.day, d]));
  const ds = days(bt.from, bt.to);
  const from = Date.parse(bt.from);
  const span = Math.max(1, Date.parse(bt.to) - from);
  const firstIdx = bt.first_firing ? ds.indexOf(bt.first_firing.slice(0, 10)) : -1;
  const gap = bt.detection_gap_ns;
  return (
    <div class="backtest" aria-label="Backtest result">
      <p class="bt-summary">
        {bt.firings.length
          ? <>This rule would have fired <b>{formatCount(bt.firings.length)}</b> time{bt.firings.length === 1 ? '' : 's'} ({formatCount(bt.notifications)} notifications), first at <b>{formatTime(bt.first_firing)}</b> UTC{gap != null && bt.incident_start ? <>, {formatDuration(Math.abs(gap))} {gap <= 0 ? 'before' : 'after'} the incident started</> : null}.</>
          : <>This rule would not have fired between {formatTime(bt.from)} and {formatTime(bt.to)}.</>}
      </p>
      <BarChart label="Firings per day" unit="firings" kind="danger"
        marker={firstIdx >= 0 ? { index: firstIdx, label: 'first firing' } : undefined}
        points={ds.map((d) => ({ label: formatDay(d + 'T00:00:00Z'), value: per.get(d)?.firings ?? 0, title: `${d}: ${per.get(d)?.firings ?? 0} firings, ${per.get(d)?.notifications ?? 0} notifications` }))} />
      {bt.firings.length > 0 && (
        <svg class="bt-strip" viewBox="0 0 1000 24" role="img" aria-label={`${bt.firings.length} firings over the window`}>
          <line x1={0} x2={1000} y1={12} y2={12} class="baseline" />
          {bt.firings.slice(0, 2000).map((f) => {
            const x1 = ((Date.parse(f.started_at) - from) / span) * 1000;
            const x2 = f.resolved_at ? ((Date.parse(f.resolved_at) - from) / span) * 1000 : 1000;
            return <rect key={f.fingerprint + f.started_at} x={x1} y={5} width={Math.max(2, x2 - x1)} height={14} class="bt-firing"><title>{`${Object.entries(f.labels).filter(([k]) => !['alertname', 'severity'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')}\n${formatTime(f.started_at)} → ${f.resolved_at ? formatTime(f.resolved_at) : 'still firing'}`}</title></rect>;
          })}
        </svg>
      )}
      <KV rows={[
        ['Window', `${formatTime(bt.from)} – ${formatTime(bt.to)}`],
        ['Evaluations', `${formatCount(bt.evaluations)} every ${formatDuration(bt.step_ns)} in ${formatCount(bt.queries)} queries${bt.method === 'sliding' ? ' (sliding window)' : bt.batched ? ' (batched)' : ''}${bt.fallback_reason ? ' — ' + bt.fallback_reason : ''}${bt.cached_steps ? `; ${formatCount(bt.cached_steps)} kept from earlier replays` : ''}`],
        ...(bt.elapsed_ns ? [['Took', formatDuration(bt.elapsed_ns)] as [string, string]] : []),
      ]} />
      {bt.firings.length > 0 && (
        <details>
          <summary>Firings ({formatCount(bt.firings.length)})</summary>
          <table class="table table-compact">
            <thead><tr><th>Started</th><th>Resolved</th><th>Labels</th></tr></thead>
            <tbody>{bt.firings.slice(0, 200).map((f) => (
              <tr key={f.fingerprint + f.started_at}><td class="small nowrap">{formatTime(f.started_at)}</td><td class="small nowrap">{f.resolved_at ? formatTime(f.resolved_at) : 'firing'}</td>
                <td class="mono small">{Object.entries(f.labels).filter(([k]) => !['alertname', 'severity'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')}</td></tr>
            ))}</tbody>
          </table>
        </details>
      )}
    </div>
  );
}
