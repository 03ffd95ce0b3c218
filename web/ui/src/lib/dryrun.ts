// A dry run of an exclusion, as the streamed answer of
// POST /exclusions/dry-run?stream=true arrives: progress lines, then the
// result or an error. reduceDryRun folds the lines into what the page
// shows; dryRunImpact sums the result up. Unit-tested (dryrun.test.ts).
import { formatCount, formatPercent } from './format';
import type { DryRunProgress, DryRunResult, FlaggedSuppression } from './types';

export interface DryRunLine {
  progress?: DryRunProgress;
  result?: DryRunResult;
  error?: { code?: string; message?: string };
}

export interface DryRunState {
  status: 'idle' | 'running' | 'done' | 'error';
  progress: DryRunProgress | null;
  /** fraction is the estimated share done, 0–1; it never goes back while the run goes on. */
  fraction: number;
  result: DryRunResult | null;
  error: string;
  /** updates counts the progress lines received. */
  updates: number;
  startedAt: number;
  endedAt: number;
}

export const idleDryRun: DryRunState = { status: 'idle', progress: null, fraction: 0, result: null, error: '', updates: 0, startedAt: 0, endedAt: 0 };

/** startDryRun is the state of a run that just started. */
export function startDryRun(now: number = Date.now()): DryRunState {
  return { ...idleDryRun, status: 'running', startedAt: now };
}

/**
 * progressFraction estimates how far a run is from one progress report.
 * The replays' step total grows as rules start, so the estimate weighs the
 * rules finished (or skipped) and the evaluations done equally.
 */
export function progressFraction(p: DryRunProgress): number {
  if (p.phase === 'done') return 1;
  if (p.phase === 'count') return 0;
  const rules = p.rules_total > 0 ? Math.min(1, p.rules_done / p.rules_total) : 0;
  const steps = p.steps_total > 0 ? Math.min(1, p.steps_done / p.steps_total) : 0;
  return Math.min(0.99, 0.5 * rules + 0.5 * steps);
}

/** reduceDryRun folds one streamed line into the state. Lines after the end are ignored. */
export function reduceDryRun(s: DryRunState, line: DryRunLine, now: number = Date.now()): DryRunState {
  if (s.status !== 'running') return s;
  if (line.error) {
    return { ...s, status: 'error', error: line.error.message || line.error.code || 'the dry run failed', endedAt: now };
  }
  if (line.result) {
    return { ...s, status: 'done', result: line.result, fraction: 1, endedAt: now };
  }
  if (line.progress) {
    return { ...s, progress: line.progress, fraction: Math.max(s.fraction, progressFraction(line.progress)), updates: s.updates + 1 };
  }
  return s;
}

/** endDryRun closes a run whose stream ended: without a result, it failed. */
export function endDryRun(s: DryRunState, now: number = Date.now()): DryRunState {
  if (s.status !== 'running') return s;
  return { ...s, status: 'error', error: 'the dry run ended without a result (the server stopped or the connection broke)', endedAt: now };
}

/** failDryRun records an error of the request itself. */
export function failDryRun(s: DryRunState, message: string, now: number = Date.now()): DryRunState {
  if (s.status !== 'running') return s;
  return { ...s, status: 'error', error: message, endedAt: now };
}

/** progressLabel says what a running dry run is doing. */
export function progressLabel(s: DryRunState): string {
  const p = s.progress;
  if (!p || p.phase === 'count') return 'Counting the spans the exclusion matches…';
  const rules = `rule ${Math.min(p.rules_done + 1, p.rules_total)} of ${p.rules_total}`;
  if (p.phase === 'replay') {
    const steps = p.steps_total ? `, ${formatCount(p.steps_done)} of ${formatCount(p.steps_total)} evaluations` : '';
    return `Replaying ${p.rule ? p.rule + ' (' + rules + ')' : rules}${steps}…`;
  }
  return `${p.phase}…`;
}

export interface FlagGroup {
  why: string;
  title: string;
  items: string[];
}

const whyTitles: Record<string, string> = {
  triaged_true_positive: 'Notifications triaged as true positives would be suppressed',
  malicious_ip: 'Alerts about addresses rated malicious would be suppressed',
  excludes_malicious_ip: 'Traffic from addresses rated malicious would be hidden from the rules',
};

/** flaggedText describes one flagged suppression. */
export function flaggedText(f: FlaggedSuppression): string {
  const who = f.ip || f.labels?.peer_ip || f.labels?.api_key_id || '';
  switch (f.why) {
    case 'triaged_true_positive': {
      const st = [f.status?.replace('_', ' '), f.reason].filter(Boolean).join(': ');
      return [`#${f.notification_id ?? '?'}`, f.rule_id, st && `(${st})`, who && `— ${who}`].filter(Boolean).join(' ');
    }
    case 'malicious_ip':
      return `${f.rule_id ?? 'alert'} about ${who || 'a malicious address'}`;
    case 'excludes_malicious_ip':
      return who || 'an address rated malicious';
    default:
      return [f.why, f.rule_id, who].filter(Boolean).join(' ');
  }
}

/** groupFlags groups flagged suppressions by why they are flagged, triaged true positives first. */
export function groupFlags(flags: FlaggedSuppression[] | null | undefined): FlagGroup[] {
  const order = ['triaged_true_positive', 'malicious_ip', 'excludes_malicious_ip'];
  const by = new Map<string, string[]>();
  for (const f of flags ?? []) {
    const list = by.get(f.why) ?? [];
    const t = flaggedText(f);
    if (!list.includes(t)) list.push(t);
    by.set(f.why, list);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (order.indexOf(a) < 0 ? 99 : order.indexOf(a)) - (order.indexOf(b) < 0 ? 99 : order.indexOf(b)))
    .map(([why, items]) => ({ why, title: whyTitles[why] ?? why, items }));
}

export interface DryRunImpact {
  /** firings that would disappear or appear. */
  removed: number;
  added: number;
  notificationsBefore: number;
  notificationsAfter: number;
  rowsExcluded: number;
  rowsTotal: number;
  rowShare: string;
  rulesAffected: number;
  rulesReplayed: number;
  flagged: number;
  /** tone: danger when anything malicious or confirmed would be hidden, none when it changes nothing. */
  tone: 'danger' | 'ok' | 'none';
  headline: string;
}

/** dryRunImpact sums a dry run up. */
export function dryRunImpact(r: DryRunResult): DryRunImpact {
  const removed = r.removed?.length ?? 0;
  const added = r.added?.length ?? 0;
  const flagged = r.suppressed_true_positives?.length ?? 0;
  const rules = r.rules ?? [];
  const rulesAffected = rules.filter((x) => x.firings_removed > 0 || x.firings_added > 0).length;
  const rulesReplayed = rules.filter((x) => !x.skipped).length;
  const tone = flagged > 0 ? 'danger' : removed === 0 && added === 0 && r.rows_excluded === 0 ? 'none' : 'ok';
  const rowShare = r.rows_total > 0 ? formatPercent(r.rows_excluded / r.rows_total) : '–';
  let headline: string;
  if (removed === 0 && added === 0) {
    headline = r.rows_excluded
      ? `It would have hidden ${formatCount(r.rows_excluded)} requests (${rowShare}) from the rules, and suppressed no alert.`
      : 'It matches no request of the window and would have suppressed nothing.';
  } else {
    headline = `It would have suppressed ${formatCount(removed)} alert firing${removed === 1 ? '' : 's'}` +
      (added ? ` and caused ${formatCount(added)} new one${added === 1 ? '' : 's'}` : '') +
      ` in ${formatCount(rulesAffected)} rule${rulesAffected === 1 ? '' : 's'} (notifications ${formatCount(r.notifications_before)} → ${formatCount(r.notifications_after)}), hiding ${formatCount(r.rows_excluded)} requests (${rowShare}).`;
  }
  return {
    removed, added, notificationsBefore: r.notifications_before, notificationsAfter: r.notifications_after,
    rowsExcluded: r.rows_excluded, rowsTotal: r.rows_total, rowShare, rulesAffected, rulesReplayed, flagged, tone, headline,
  };
}
