import { describe, expect, it } from 'vitest';
import { groupNotifications, nextStatuses, severityRank, shortcutAction } from './triage';
import type { Notification } from './types';

function n(id: number, rule: string, severity: string, lastSeen: string, incident?: number): Notification {
  return {
    id, fingerprint: 'f' + id, rule_id: rule, rule_name: rule.toUpperCase(), severity, mode: 'active', labels: {}, annotations: {},
    alert_state: 'firing', starts_at: lastSeen, status: 'open', first_seen: lastSeen, last_seen: lastSeen, count: 1, incident_id: incident, updated_at: lastSeen,
  };
}

const page = [
  n(5, 'bulk', 'low', '2026-11-28T10:00:00Z', 1),
  n(4, 'shadow', 'high', '2026-11-28T09:00:00Z', 1),
  n(3, 'bulk', 'medium', '2026-11-28T08:00:00Z'),
  n(2, 'errors', 'medium', '2026-11-28T11:00:00Z', 2),
  n(1, 'shadow', 'high', '2026-11-27T09:00:00Z', 2),
];

describe('groupNotifications', () => {
  it('groups by rule, worst group first, then newest', () => {
    const g = groupNotifications(page, 'rule');
    expect(g.map((x) => [x.title, x.worst, x.items.map((i) => i.id)])).toEqual([
      ['SHADOW', 'high', [4, 1]],
      ['ERRORS', 'medium', [2]],
      ['BULK', 'medium', [5, 3]],
    ]);
  });
  it('groups by incident, with a group for notifications outside any', () => {
    const g = groupNotifications(page, 'incident');
    expect(g.map((x) => [x.title, x.items.map((i) => i.id)])).toEqual([
      ['Incident #2', [2, 1]],
      ['Incident #1', [5, 4]],
      ['No incident', [3]],
    ]);
  });
  it('none keeps one group, and nothing gives no group', () => {
    expect(groupNotifications(page, 'none')[0].items).toHaveLength(5);
    expect(groupNotifications([], 'rule')).toEqual([]);
  });
  it('ranks warning as medium and unknown last', () => {
    expect(severityRank('warning')).toBe(severityRank('medium'));
    expect(severityRank('bogus')).toBeGreaterThan(severityRank('info'));
  });
});

describe('shortcutAction', () => {
  it('maps the keys', () => {
    expect(shortcutAction({ key: 'j' })).toEqual({ kind: 'move', by: 1 });
    expect(shortcutAction({ key: 'k' })).toEqual({ kind: 'move', by: -1 });
    expect(shortcutAction({ key: 'i' })).toEqual({ kind: 'status', status: 'investigating' });
    expect(shortcutAction({ key: 'r' })).toEqual({ kind: 'status', status: 'resolved' });
    expect(shortcutAction({ key: 'x' })).toEqual({ kind: 'toggle' });
  });
  it('ignores keys typed into fields and chords', () => {
    expect(shortcutAction({ key: 'j', target: { tagName: 'input' } })).toBeNull();
    expect(shortcutAction({ key: 'r', target: { tagName: 'TEXTAREA' } })).toBeNull();
    expect(shortcutAction({ key: 'r', ctrlKey: true })).toBeNull();
    expect(shortcutAction({ key: 'q' })).toBeNull();
  });
});

describe('nextStatuses', () => {
  it('follows the workflow', () => {
    expect(nextStatuses('open')).toEqual(['investigating', 'resolved', 'false_positive']);
    expect(nextStatuses('resolved')).toContain('open');
  });
});
