// The notification queue's logic: grouping, keyboard shortcuts and the
// status workflow. Unit-tested (triage.test.ts).
import type { Notification } from './types';

export const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const triageStatuses = ['open', 'investigating', 'resolved', 'false_positive'] as const;

export function severityRank(s: string): number {
  const i = (severities as readonly string[]).indexOf(s === 'warning' ? 'medium' : s);
  return i < 0 ? severities.length : i;
}

export interface Group {
  key: string;
  title: string;
  items: Notification[];
  /** worst is the most severe severity in the group. */
  worst: string;
}

export type GroupBy = 'rule' | 'incident' | 'none';

/**
 * groupNotifications groups a page of notifications by rule or incident.
 * Groups come worst first, then by their newest notification; the
 * notifications inside keep the page's order (newest first).
 */
export function groupNotifications(ns: Notification[], by: GroupBy): Group[] {
  if (by === 'none') return ns.length ? [{ key: 'all', title: 'All notifications', items: ns, worst: worstOf(ns) }] : [];
  const groups = new Map<string, Group>();
  for (const n of ns) {
    const key = by === 'rule' ? 'rule:' + n.rule_id : n.incident_id ? 'incident:' + n.incident_id : 'incident:none';
    let g = groups.get(key);
    if (!g) {
      const title = by === 'rule' ? n.rule_name || n.rule_id : n.incident_id ? `Incident #${n.incident_id}` : 'No incident';
      g = { key, title, items: [], worst: n.severity };
      groups.set(key, g);
    }
    g.items.push(n);
    if (severityRank(n.severity) < severityRank(g.worst)) g.worst = n.severity;
  }
  const newest = (g: Group) => Math.max(...g.items.map((n) => Date.parse(n.last_seen) || 0));
  return [...groups.values()].sort((a, b) => severityRank(a.worst) - severityRank(b.worst) || newest(b) - newest(a) || a.key.localeCompare(b.key));
}

function worstOf(ns: Notification[]): string {
  return ns.reduce((w, n) => (severityRank(n.severity) < severityRank(w) ? n.severity : w), ns[0]?.severity ?? 'info');
}

export type Action =
  | { kind: 'move'; by: number }
  | { kind: 'toggle' }
  | { kind: 'open' }
  | { kind: 'status'; status: (typeof triageStatuses)[number] }
  | { kind: 'assign-me' }
  | { kind: 'note' }
  | { kind: 'search' }
  | { kind: 'select-all' }
  | { kind: 'clear' }
  | { kind: 'help' };

/** The queue's shortcuts, for the help overlay. */
export const shortcuts: [string, string][] = [
  ['j / k', 'next / previous notification'],
  ['x', 'select or unselect'],
  ['Enter or o', 'open the details'],
  ['i', 'mark investigating'],
  ['r', 'mark resolved'],
  ['f', 'mark false positive (asks for a reason)'],
  ['u', 'reopen'],
  ['a', 'assign to me'],
  ['n', 'add a note'],
  ['*', 'select all shown'],
  ['Esc', 'clear the selection'],
  ['/', 'search'],
  ['?', 'this help'],
];

/** shortcutAction maps a key press to a queue action; null when the key is not a shortcut or is typed into a field. */
export function shortcutAction(e: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean; target?: unknown }): Action | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const t = e.target as { tagName?: string; isContentEditable?: boolean } | undefined;
  const tag = t?.tagName?.toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t?.isContentEditable) return null;
  switch (e.key) {
    case 'j': case 'ArrowDown': return { kind: 'move', by: 1 };
    case 'k': case 'ArrowUp': return { kind: 'move', by: -1 };
    case 'x': return { kind: 'toggle' };
    case 'Enter': case 'o': return { kind: 'open' };
    case 'i': return { kind: 'status', status: 'investigating' };
    case 'r': return { kind: 'status', status: 'resolved' };
    case 'f': return { kind: 'status', status: 'false_positive' };
    case 'u': return { kind: 'status', status: 'open' };
    case 'a': return { kind: 'assign-me' };
    case 'n': return { kind: 'note' };
    case '*': return { kind: 'select-all' };
    case 'Escape': return { kind: 'clear' };
    case '/': return { kind: 'search' };
    case '?': return { kind: 'help' };
  }
  return null;
}

/** nextStatuses lists the moves the workflow offers from a status. */
export function nextStatuses(status: string): (typeof triageStatuses)[number][] {
  switch (status) {
    case 'open': return ['investigating', 'resolved', 'false_positive'];
    case 'investigating': return ['resolved', 'false_positive', 'open'];
    default: return ['open', 'investigating'];
  }
}

export function statusLabel(s: string): string {
  return s === 'false_positive' ? 'false positive' : s;
}
