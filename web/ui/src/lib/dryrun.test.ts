import { describe, expect, it } from 'vitest';
import { dryRunImpact, endDryRun, failDryRun, flaggedText, groupFlags, idleDryRun, progressFraction, progressLabel, reduceDryRun, startDryRun, type DryRunLine } from './dryrun';
import type { DryRunResult } from './types';

const result = (over: Partial<DryRunResult> = {}): DryRunResult => ({
  exclusion: { id: 'draft', conditions: [{ kind: 'ip_cidr', value: '104.248.73.19' }], match: 'all', scope: { kind: 'any' }, reason: 'dry run', expires_at: 'never', mode: 'active', hit_count: 0 },
  from: '2026-11-21T19:50:00Z', to: '2026-11-28T19:50:00Z',
  rules: [
    { rule_id: 'admin_endpoint_new_caller', name: 'Admin endpoint', mode: 'active', notifications_before: 6, notifications_after: 2, firings_removed: 2, firings_added: 0, elapsed_ns: 1 },
    { rule_id: 'new_shadow_endpoint', name: 'Shadow', mode: 'active', notifications_before: 0, notifications_after: 0, firings_removed: 0, firings_added: 0, skipped: 'its rows come from apimap_event', elapsed_ns: 0 },
  ],
  notifications_before: 6, notifications_after: 2,
  removed: [
    { rule_id: 'admin_endpoint_new_caller', mode: 'active', fingerprint: 'f', labels: { peer_ip: '104.248.73.19' }, started_at: '2026-11-25T02:20:00Z' },
    { rule_id: 'admin_endpoint_new_caller', mode: 'active', fingerprint: 'f', labels: { peer_ip: '104.248.73.19' }, started_at: '2026-11-26T07:50:00Z' },
  ],
  added: [], rows_excluded: 5722, rows_total: 178411, top_excluded_keys: [], per_day: [], suppressed_true_positives: [], elapsed_ns: 27e9,
  ...over,
});

// The lines of a real streamed dry run (POST /exclusions/dry-run?stream=true), shortened.
const stream: DryRunLine[] = [
  { progress: { phase: 'count', rules_done: 0, rules_total: 6, steps_done: 0, steps_total: 0 } },
  { progress: { phase: 'replay', rule: 'error_rate_spike', rules_done: 0, rules_total: 6, steps_done: 1502, steps_total: 12098 } },
  { progress: { phase: 'replay', rule: 'error_rate_spike', rules_done: 0, rules_total: 6, steps_done: 5822, steps_total: 12098 } },
  // A second replay starts: the step total grows and the step share drops.
  { progress: { phase: 'replay', rule: 'bulk_reads_per_ip', rules_done: 1, rules_total: 6, steps_done: 6000, steps_total: 36294 } },
  { progress: { phase: 'replay', rule: 'bulk_reads_per_ip', rules_done: 5, rules_total: 6, steps_done: 60000, steps_total: 60490 } },
  { result: result() },
];

describe('reduceDryRun', () => {
  it('folds progress into a fraction that never goes back, then the result', () => {
    let s = startDryRun(1000);
    const fractions: number[] = [];
    for (const line of stream) {
      s = reduceDryRun(s, line, 2000);
      fractions.push(s.fraction);
    }
    expect(fractions[0]).toBe(0);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
    expect(fractions[fractions.length - 2]).toBeLessThan(1);
    expect(s.status).toBe('done');
    expect(s.fraction).toBe(1);
    expect(s.updates).toBe(5);
    expect(s.result?.rows_excluded).toBe(5722);
    expect(s.progress?.steps_total).toBe(60490);
    expect(s.endedAt - s.startedAt).toBe(1000);
  });
  it('keeps the fraction when a growing step total would lower it', () => {
    const s1 = reduceDryRun(startDryRun(), stream[2]);
    const s2 = reduceDryRun(s1, stream[3]);
    expect(progressFraction(stream[3].progress!)).toBeLessThan(s1.fraction);
    expect(s2.fraction).toBe(s1.fraction);
  });
  it('stops at an error line and ignores what follows', () => {
    let s = reduceDryRun(startDryRun(), stream[1]);
    s = reduceDryRun(s, { error: { code: 'bad_request', message: 'invalid exclusion: condition 1: ip_cidr "x"' } });
    expect(s.status).toBe('error');
    expect(s.error).toMatch(/invalid exclusion/);
    expect(reduceDryRun(s, { result: result() })).toBe(s);
  });
  it('fails a stream that ends without a result, and keeps a finished one', () => {
    const running = reduceDryRun(startDryRun(), stream[1]);
    expect(endDryRun(running)).toMatchObject({ status: 'error', error: expect.stringMatching(/without a result/) });
    const done = reduceDryRun(running, { result: result() });
    expect(endDryRun(done)).toBe(done);
    expect(failDryRun(done, 'x')).toBe(done);
    expect(failDryRun(running, 'Cancelled.')).toMatchObject({ status: 'error', error: 'Cancelled.' });
  });
  it('ignores lines when idle', () => expect(reduceDryRun(idleDryRun, stream[1])).toBe(idleDryRun));
});

describe('progressFraction and progressLabel', () => {
  it('weighs rules and evaluations, below 1 until done', () => {
    expect(progressFraction({ phase: 'count', rules_done: 0, rules_total: 6, steps_done: 0, steps_total: 0 })).toBe(0);
    expect(progressFraction({ phase: 'replay', rules_done: 3, rules_total: 6, steps_done: 50, steps_total: 100 })).toBe(0.5);
    expect(progressFraction({ phase: 'replay', rules_done: 6, rules_total: 6, steps_done: 100, steps_total: 100 })).toBe(0.99);
    expect(progressFraction({ phase: 'done', rules_done: 6, rules_total: 6, steps_done: 100, steps_total: 100 })).toBe(1);
    expect(progressFraction({ phase: 'replay', rules_done: 0, rules_total: 0, steps_done: 0, steps_total: 0 })).toBe(0);
  });
  it('says what is being done', () => {
    expect(progressLabel(startDryRun())).toMatch(/^Counting/);
    const s = reduceDryRun(startDryRun(), stream[2]);
    expect(progressLabel(s)).toBe('Replaying error_rate_spike (rule 1 of 6), 5,822 of 12,098 evaluations…');
  });
});

describe('flags', () => {
  const flags = [
    { why: 'excludes_malicious_ip', ip: '104.248.73.19' },
    { why: 'malicious_ip', rule_id: 'admin_endpoint_new_caller', labels: { peer_ip: '104.248.73.19' } },
    { why: 'malicious_ip', rule_id: 'admin_endpoint_new_caller', labels: { peer_ip: '104.248.73.19' } },
    { why: 'triaged_true_positive', notification_id: 12, rule_id: 'bulk_reads_per_ip', status: 'resolved', reason: 'contained', labels: { peer_ip: '167.71.205.88' } },
  ];
  it('describes each flagged suppression', () => {
    expect(flaggedText(flags[0])).toBe('104.248.73.19');
    expect(flaggedText(flags[1])).toBe('admin_endpoint_new_caller about 104.248.73.19');
    expect(flaggedText(flags[3])).toBe('#12 bulk_reads_per_ip (resolved: contained) — 167.71.205.88');
    expect(flaggedText({ why: 'triaged_true_positive', notification_id: 3, status: 'false_positive' })).toBe('#3 (false positive)');
  });
  it('groups them, triaged true positives first, without duplicates', () => {
    const g = groupFlags(flags);
    expect(g.map((x) => x.why)).toEqual(['triaged_true_positive', 'malicious_ip', 'excludes_malicious_ip']);
    expect(g[1].items).toEqual(['admin_endpoint_new_caller about 104.248.73.19']);
    expect(g[0].title).toMatch(/true positives/);
    expect(groupFlags(null)).toEqual([]);
  });
});

describe('dryRunImpact', () => {
  it('sums up what the exclusion would have suppressed', () => {
    const i = dryRunImpact(result());
    expect(i).toMatchObject({ removed: 2, added: 0, notificationsBefore: 6, notificationsAfter: 2, rowsExcluded: 5722, rulesAffected: 1, rulesReplayed: 1, flagged: 0, tone: 'ok', rowShare: '3.2%' });
    expect(i.headline).toBe('It would have suppressed 2 alert firings in 1 rule (notifications 6 → 2), hiding 5,722 requests (3.2%).');
  });
  it('is a danger when it flags anything', () => {
    const i = dryRunImpact(result({ suppressed_true_positives: [{ why: 'excludes_malicious_ip', ip: '104.248.73.19' }] }));
    expect(i.tone).toBe('danger');
    expect(i.flagged).toBe(1);
  });
  it('says when it changes nothing', () => {
    const i = dryRunImpact(result({ removed: null, rows_excluded: 0, notifications_after: 6, suppressed_true_positives: null }));
    expect(i.tone).toBe('none');
    expect(i.headline).toMatch(/matches no request/);
    const hidden = dryRunImpact(result({ removed: [], rows_excluded: 12 }));
    expect(hidden.headline).toMatch(/hidden 12 requests .* and suppressed no alert/);
  });
});
