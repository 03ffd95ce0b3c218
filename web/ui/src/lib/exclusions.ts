// Exclusions without DOM: the create form's state and the exclusion it
// sends, its checks, a suggestion turned into a form, and the words the
// list uses for conditions, scopes, statuses and expiries. Unit-tested
// (exclusions.test.ts).
import { formatRelative, formatTime } from './format';
import type { Condition, ConditionKind, Exclusion, ExclusionStatus, ScopeKind } from './types';

export const conditionKinds: { kind: ConditionKind; label: string; placeholder: string }[] = [
  { kind: 'ip_cidr', label: 'IP / CIDR', placeholder: '203.0.113.7, 10.0.0.0/8' },
  { kind: 'path_glob', label: 'Path glob', placeholder: '/v1/health or /v1/**/status' },
  { kind: 'api_key', label: 'API key id', placeholder: 'the api_key_id as in traces' },
  { kind: 'user_agent', label: 'User agent', placeholder: 'kube-probe/* (* matches any text)' },
  { kind: 'asn', label: 'ASN', placeholder: 'AS14061' },
  { kind: 'status', label: 'Status', placeholder: '404, 4xx, 500-599' },
  { kind: 'sql_predicate', label: 'SQL predicate', placeholder: "http_route = '/v1/ping' AND status_code < 400" },
];

const kindLabel = new Map(conditionKinds.map((k) => [k.kind, k.label]));

export const expiryChoices = ['24h', '7d', '30d', '90d', 'never', 'custom'] as const;
export type ExpiryChoice = (typeof expiryChoices)[number];

export interface ExclusionForm {
  id: string;
  conditions: Condition[];
  match: 'all' | 'any';
  /** scope: any (every rule, later ones too), existing (the rules of now) or rules (those picked). */
  scope: 'any' | 'existing' | 'rules';
  ruleIds: string[];
  reason: string;
  expires: ExpiryChoice;
  /** expiresCustom is a date (2026-12-31), an RFC 3339 time or a duration (45d) when expires is custom. */
  expiresCustom: string;
  mode: 'shadow' | 'active';
}

/** emptyForm is a new exclusion: one IP condition, every existing rule, 30 days, shadow first. */
export function emptyForm(): ExclusionForm {
  return { id: '', conditions: [{ kind: 'ip_cidr', value: '' }], match: 'all', scope: 'existing', ruleIds: [], reason: '', expires: '30d', expiresCustom: '', mode: 'shadow' };
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** expiryValue is the expires_at the API takes for the form's choice. */
export function expiryValue(f: Pick<ExclusionForm, 'expires' | 'expiresCustom'>): string {
  if (f.expires !== 'custom') return f.expires;
  const v = f.expiresCustom.trim();
  if (/^\d{4}-\d\d-\d\d$/.test(v)) return v + 'T00:00:00Z';
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v)) return v + ':00Z';
  return v;
}

/** filledConditions are the conditions with a value, trimmed. */
export function filledConditions(cs: Condition[]): Condition[] {
  return cs.map((c) => ({ kind: c.kind, value: c.value.trim() })).filter((c) => c.value !== '');
}

/**
 * toExclusion writes the form as the API's exclusion. For a dry run the
 * id, reason and expiry may be left out (the server fills them).
 */
export function toExclusion(f: ExclusionForm, opts: { draft?: boolean } = {}): Partial<Exclusion> {
  const rules = [...new Set(f.ruleIds)].sort();
  const scopeKind: ScopeKind = f.scope === 'rules' ? (rules.length === 1 ? 'rule' : 'rules') : f.scope;
  const e: Partial<Exclusion> = {
    conditions: filledConditions(f.conditions),
    match: f.match,
    scope: f.scope === 'rules' ? { kind: scopeKind, rule_ids: rules } : { kind: scopeKind },
    mode: f.mode,
  };
  if (f.id.trim()) e.id = f.id.trim();
  if (f.reason.trim()) e.reason = f.reason.trim();
  const exp = expiryValue(f);
  if (exp || !opts.draft) e.expires_at = exp;
  return e;
}

/** formProblems lists what keeps the form from being sent; a dry run needs only conditions and a scope. */
export function formProblems(f: ExclusionForm, opts: { draft?: boolean } = {}): string[] {
  const out: string[] = [];
  if (f.id.trim() && !idPattern.test(f.id.trim())) out.push("The id takes letters, digits, '_', '.', ':' and '-' (at most 64), starting with a letter or digit.");
  if (!filledConditions(f.conditions).length) out.push('Add at least one condition with a value.');
  if (f.scope === 'rules' && !f.ruleIds.length) out.push('Pick the rules it applies to.');
  if (!opts.draft) {
    if (!f.reason.trim()) out.push('Say why this traffic is benign (the reason is required).');
    if (f.expires === 'custom' && !f.expiresCustom.trim()) out.push('Give an expiry date or duration, or choose never.');
  }
  return out;
}

/** fromExclusion turns an exclusion (a suggestion's) into a form. */
export function fromExclusion(e: Exclusion): ExclusionForm {
  const f = emptyForm();
  f.id = e.id ?? '';
  f.conditions = e.conditions?.length ? e.conditions.map((c) => ({ ...c })) : f.conditions;
  f.match = e.match === 'any' ? 'any' : 'all';
  const k = e.scope?.kind;
  if (k === 'rule' || k === 'rules') {
    f.scope = 'rules';
    f.ruleIds = [...(e.scope.rule_ids ?? [])];
  } else if (k === 'any') {
    f.scope = 'any';
  } else {
    f.scope = 'existing';
  }
  f.reason = e.reason ?? '';
  const exp = e.expires_at ?? '';
  if (exp === 'never') f.expires = 'never';
  else if ((expiryChoices as readonly string[]).includes(exp)) f.expires = exp as ExpiryChoice;
  else if (exp) {
    f.expires = 'custom';
    f.expiresCustom = /^\d{4}-\d\d-\d\dT00:00:00Z$/.test(exp) ? exp.slice(0, 10) : exp;
  }
  f.mode = e.mode === 'active' ? 'active' : 'shadow';
  return f;
}

/** conditionText describes one condition: "IP / CIDR 203.0.113.7". */
export function conditionText(c: Condition): string {
  return `${kindLabel.get(c.kind) ?? c.kind} ${c.value}`;
}

/** conditionsText joins the conditions as the match combines them. */
export function conditionsText(cs: Condition[] | null | undefined, match: string): string {
  if (!cs?.length) return 'no condition';
  return cs.map(conditionText).join(match === 'any' ? ' or ' : ' and ');
}

/** scopeText says which rules an exclusion applies to. */
export function scopeText(s: { kind: string; rule_ids?: string[] | null }): string {
  const ids = s.rule_ids ?? [];
  switch (s.kind) {
    case 'any': return 'every rule, later ones too';
    case 'existing': return ids.length ? `the ${ids.length} rules that existed when it was made` : 'the rules that exist now';
    case 'rule': return ids[0] ?? 'one rule';
    default: return ids.length > 3 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', ') || 'no rule';
  }
}

export interface StatusInfo { label: string; kind: string; title: string; pending: boolean }

/** statusInfo words an exclusion's status: shadow and review are pending activation. */
export function statusInfo(s: ExclusionStatus | string): StatusInfo {
  switch (s) {
    case 'active': return { label: 'active', kind: 'ok', title: 'Keeps its traffic out of the rules it covers', pending: false };
    case 'shadow': return { label: 'pending · shadow', kind: 'med', title: 'Suppresses nothing yet: records what it would suppress until it is activated', pending: true };
    case 'review': return { label: 'pending · review', kind: 'warn', title: 'Its shadow period ended: activate it or delete it', pending: true };
    case 'expired': return { label: 'expired', kind: 'muted', title: 'No longer applies', pending: false };
    default: return { label: s, kind: 'muted', title: '', pending: false };
  }
}

/** expiryText words an exclusion's expiry: "never", or the time and how far it is. */
export function expiryText(expires: string, now: number = Date.now()): string {
  if (!expires || expires === 'never') return 'never';
  const t = Date.parse(expires);
  if (Number.isNaN(t)) return expires;
  return `${formatTime(expires)} (${formatRelative(expires, now)})`;
}

/** listKinds are the list's views, as GET /exclusions takes them. */
export const listViews = ['current', 'review', 'all'] as const;

/** listQuery is the API query of a list view: current (active and shadow), review (expired, or shadow ended) or all. */
export function listQuery(view: string): string {
  return view === 'all' ? '?all=true' : view === 'review' ? '?expired=true' : '';
}

/** splitMatchers splits silence matchers typed on one line at the commas outside quotes. */
export function splitMatchers(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted && i + 1 < text.length) {
      cur += ch + text[++i];
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if ((ch === ',' || ch === '\n') && !quoted) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
