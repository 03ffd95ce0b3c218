// A dry run of an exclusion over history, streamed: progress while the
// rules replay, then what the exclusion would have suppressed, with
// anything malicious or confirmed it would hide shown first, as a warning.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { BarChart } from '../../components/BarChart';
import { Badge, Button, ErrorBox, Stat } from '../../components/ui';
import { endDryRun, failDryRun, groupFlags, idleDryRun, progressLabel, reduceDryRun, startDryRun, dryRunImpact, type DryRunLine, type DryRunState } from '../../lib/dryrun';
import { formatCount, formatDay, formatDuration, formatTime } from '../../lib/format';
import type { DryRunResult, Exclusion, FiringDiff } from '../../lib/types';
import { days } from '../rules/Backtest';

export interface DryRunRequest {
  id?: string;
  exclusion?: Partial<Exclusion>;
  since?: string;
}

/** useDryRun runs streamed dry runs; a new run or leaving the page stops the one going on. */
export function useDryRun() {
  const [state, setState] = useState<DryRunState>(idleDryRun);
  const ctl = useRef<AbortController | null>(null);
  useEffect(() => () => ctl.current?.abort(), []);
  const run = useCallback(async (req: DryRunRequest) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    setState(startDryRun());
    try {
      await api.stream<DryRunLine>('/exclusions/dry-run?stream=true', req, (line) => {
        if (!c.signal.aborted) setState((s) => reduceDryRun(s, line));
      }, c.signal);
      if (!c.signal.aborted) setState((s) => endDryRun(s));
    } catch (e) {
      if (!c.signal.aborted) setState((s) => failDryRun(s, errorMessage(e)));
    }
  }, []);
  const cancel = useCallback(() => {
    ctl.current?.abort();
    setState((s) => failDryRun(s, 'Cancelled.'));
  }, []);
  const reset = useCallback(() => {
    ctl.current?.abort();
    setState(idleDryRun);
  }, []);
  return { state, run, cancel, reset };
}

export function DryRunView({ state, onCancel }: { state: DryRunState; onCancel: () => void }) {
  if (state.status === 'idle') return null;
  if (state.status === 'running') {
    const pct = Math.round(state.fraction * 100);
    return (
      <div class="dryrun" aria-label="Dry run">
        <div class="row-between">
          <span class="small" role="status">{progressLabel(state)}</span>
          <Button kind="small" onClick={onCancel}>Cancel</Button>
        </div>
        <div class="dr-bar" role="progressbar" aria-label="Dry run progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
          <span class="dr-bar-fill" style={{ width: pct + '%' }} />
        </div>
      </div>
    );
  }
  if (state.status === 'error') return <ErrorBox error={'Dry run: ' + state.error} />;
  return <DryRunResultView r={state.result!} state={state} />;
}

function labelText(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {}).filter(([k]) => !['alertname', 'severity', 'category'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ');
}

function FiringTable({ fs, label }: { fs: FiringDiff[]; label: string }) {
  return (
    <table class="table table-compact" aria-label={label}>
      <thead><tr><th>Rule</th><th>Alert</th><th>Started</th><th>Resolved</th></tr></thead>
      <tbody>{fs.slice(0, 200).map((f, i) => (
        <tr key={f.fingerprint + f.started_at + i}>
          <td class="mono small">{f.rule_id}{f.mode === 'shadow' && <> <Badge kind="muted">shadow</Badge></>}</td>
          <td class="small">{f.summary || <span class="mono">{labelText(f.labels)}</span>}</td>
          <td class="small nowrap">{formatTime(f.started_at)}</td>
          <td class="small nowrap">{f.resolved_at ? formatTime(f.resolved_at) : 'firing'}</td>
        </tr>
      ))}</tbody>
    </table>
  );
}

function DryRunResultView({ r, state }: { r: DryRunResult; state: DryRunState }) {
  const impact = dryRunImpact(r);
  const flags = groupFlags(r.suppressed_true_positives);
  const per = new Map((r.per_day ?? []).map((d) => [d.day, d]));
  const ds = days(r.from, r.to);
  const removedPerDay = ds.map((d) => {
    const x = per.get(d);
    return { d, suppressed: x ? Math.max(0, x.notifications_before - x.notifications_after) : 0, rows: x?.rows_excluded ?? 0 };
  });
  const chartSuppressed = removedPerDay.some((x) => x.suppressed > 0);
  const p = state.progress;
  const replayed = impact.rulesReplayed;
  return (
    <div class="dryrun" aria-label="Dry run result">
      {flags.length > 0 && (
        <div class="danger-box" role="alert">
          <p class="danger-title">⚠ This exclusion would hide malicious or confirmed activity</p>
          {flags.map((g) => (
            <div key={g.why}>
              <p><b>{g.title}</b> ({g.items.length})</p>
              <ul class="mono small">{g.items.slice(0, 20).map((t) => <li key={t}>{t}</li>)}{g.items.length > 20 && <li>and {g.items.length - 20} more</li>}</ul>
            </div>
          ))}
          <p class="small">Applying it needs a reason for overriding this (it is kept with the exclusion and in the audit log). Narrow it first if you can.</p>
        </div>
      )}
      <p class={'impact impact-' + impact.tone}>{impact.headline}</p>
      <div class="stats">
        <Stat label="Alert firings suppressed" value={formatCount(impact.removed)} kind={impact.removed ? 'warn' : undefined} hint={impact.added ? `${formatCount(impact.added)} would appear` : undefined} />
        <Stat label="Notifications" value={`${formatCount(impact.notificationsBefore)} → ${formatCount(impact.notificationsAfter)}`} />
        <Stat label="Requests hidden from rules" value={formatCount(impact.rowsExcluded)} hint={`${impact.rowShare} of ${formatCount(impact.rowsTotal)}`} />
        <Stat label="Rules affected" value={`${impact.rulesAffected} of ${r.rules.length}`} hint={`${replayed} replayed`} />
      </div>
      {ds.length > 0 && (
        <BarChart label={chartSuppressed ? 'Notifications suppressed per day' : 'Requests hidden per day'} unit={chartSuppressed ? 'notifications' : 'requests'} kind={chartSuppressed ? 'danger' : 'accent'} height={150}
          points={removedPerDay.map((x) => ({ label: formatDay(x.d + 'T00:00:00Z'), value: chartSuppressed ? x.suppressed : x.rows, title: `${x.d}: ${x.suppressed} notifications suppressed, ${x.rows} requests hidden` }))} />
      )}
      {!!r.removed?.length && (
        <details open={r.removed.length <= 10}>
          <summary>Alert firings it would have suppressed ({formatCount(r.removed.length)})</summary>
          <FiringTable fs={r.removed} label="Suppressed firings" />
        </details>
      )}
      {!!r.added?.length && (
        <details>
          <summary>Alert firings it would have caused ({formatCount(r.added.length)})</summary>
          <FiringTable fs={r.added} label="Added firings" />
        </details>
      )}
      <details>
        <summary>Per rule</summary>
        <table class="table table-compact" aria-label="Effect per rule">
          <thead><tr><th>Rule</th><th class="num">Notifications</th><th class="num">Removed</th><th class="num">Added</th><th>Note</th></tr></thead>
          <tbody>{r.rules.map((x) => (
            <tr key={x.rule_id} class={x.skipped ? 'row-disabled' : ''}>
              <td><a href={`/rules/${encodeURIComponent(x.rule_id)}`}>{x.name || x.rule_id}</a></td>
              <td class="num">{formatCount(x.notifications_before)} → {formatCount(x.notifications_after)}</td>
              <td class="num">{x.firings_removed}</td>
              <td class="num">{x.firings_added}</td>
              <td class={x.error ? 'small impact-danger' : 'small muted'}>{x.error ? `replay failed: ${x.error}` : x.skipped ?? ((x.elapsed_ns ? formatDuration(x.elapsed_ns) : '') + (x.steps_cached ? ` · baseline ${formatCount(x.steps_cached)} of ${formatCount(x.steps ?? 0)} steps from earlier runs` : '') + (x.groups_replayed ? ` · ${formatCount(x.groups_replayed)} touched group${x.groups_replayed === 1 ? '' : 's'} replayed` : ''))}</td>
            </tr>
          ))}</tbody>
        </table>
      </details>
      {!!r.top_excluded_keys?.length && (
        <p class="small">Most excluded: <span class="chips">{r.top_excluded_keys.filter((k) => k.value !== '').map((k) => <Badge key={k.key + k.value}><span class="mono">{k.key} {k.value}</span> · {formatCount(k.rows)}</Badge>)}</span></p>
      )}
      {r.warnings?.map((w) => <p key={w} class="note small">{w}</p>)}
      <p class="small muted">
        {formatTime(r.from)} – {formatTime(r.to)} UTC · {replayed} rule{replayed === 1 ? '' : 's'} replayed
        {p && p.steps_total > 0 ? `, ${formatCount(p.steps_total)} evaluations` : ''} in {formatDuration(r.elapsed_ns)}
        {state.updates > 0 ? ` · ${state.updates} progress update${state.updates === 1 ? '' : 's'}` : ''}
      </p>
    </div>
  );
}
