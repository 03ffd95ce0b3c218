// The investigation page's logic without DOM: reading the callers typed
// into the form, the verdict's tone, the risk gauge's geometry, the
// evidence queries' links and the links other pages make to an
// investigation. Unit-tested (investigation.test.ts).
import { withQuery } from './query';
import type { CallerReport, Campaign, Evidence, InvestigationResult } from './types';

export type CallerKind = 'ip' | 'api_key';

export interface ParsedCaller {
  /** text is what goes to the API: an address, a key id, or "key:ID". */
  text: string;
  kind: CallerKind;
  value: string;
}

export interface ParsedCallers {
  callers: ParsedCaller[];
  /** problems are entries that would not investigate what they seem to name. */
  problems: string[];
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** isIP says whether s is an IPv4 or IPv6 address (no range). */
export function isIP(s: string): boolean {
  if (ipv4.test(s)) return true;
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  const parts = s.split('::');
  if (parts.length > 2) return false;
  const groups = (p: string) => (p === '' ? [] : p.split(':'));
  const all = [...groups(parts[0]), ...(parts.length === 2 ? groups(parts[1]) : [])];
  let want = 8;
  const last = all[all.length - 1];
  if (last && last.includes('.')) {
    if (!ipv4.test(last)) return false;
    all.pop();
    want = 6;
  }
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return parts.length === 2 ? all.length < want : all.length === want;
}

/** parseCaller reads one caller as the API does: "key:ID" is a key, an address an IP, anything else a key id. */
export function parseCaller(s: string): ParsedCaller {
  const t = s.trim();
  if (t.startsWith('key:')) return { text: t, kind: 'api_key', value: t.slice(4) };
  if (isIP(t)) return { text: t, kind: 'ip', value: t };
  return { text: t, kind: 'api_key', value: t };
}

/**
 * parseCallers splits what was typed (commas, spaces, new lines) into
 * callers, without duplicates, and names the entries that look like an
 * address or a range but would be read as an API key id.
 */
export function parseCallers(text: string | string[]): ParsedCallers {
  const raw = (Array.isArray(text) ? text : [text]).flatMap((t) => t.split(/[\s,;]+/)).map((s) => s.trim()).filter(Boolean);
  const seen = new Set<string>();
  const callers: ParsedCaller[] = [];
  const problems: string[] = [];
  for (const r of raw) {
    const c = parseCaller(r);
    if (c.kind === 'api_key' && !c.value) {
      problems.push(`${r}: no key id after "key:"`);
      continue;
    }
    if (c.kind === 'api_key' && !r.startsWith('key:')) {
      if (r.includes('/')) {
        problems.push(`${r}: ranges are not investigated; list the addresses`);
        continue;
      }
      if (/^[\d.]+$/.test(r) || (/^[0-9a-fA-F:.]+$/.test(r) && r.includes(':'))) {
        problems.push(`${r}: not an IP address (write key:${r} for an API key id)`);
        continue;
      }
    }
    const key = c.kind + ' ' + c.value;
    if (seen.has(key)) continue;
    seen.add(key);
    callers.push(c);
  }
  return { callers, problems };
}

/** severityOf reads the severity half of a verdict ("Malicious — Data Exfiltration" → "Malicious"). */
export function verdictParts(verdict: string): { severity: string; label: string } {
  const i = verdict.indexOf(' — ');
  if (i < 0) return { severity: verdict, label: '' };
  return { severity: verdict.slice(0, i), label: verdict.slice(i + 3) };
}

/** severityKind maps a verdict's severity to a badge kind (colour). */
export function severityKind(severity: string): 'crit' | 'high' | 'muted' | 'ok' {
  switch (severity.toLowerCase()) {
    case 'malicious': return 'crit';
    case 'suspicious': return 'high';
    case 'benign': return 'ok';
    default: return 'muted';
  }
}

/** riskBand names a 0–100 risk score's band, as the meters colour it. */
export function riskBand(score: number): 'high' | 'med' | 'low' {
  return score >= 70 ? 'high' : score >= 40 ? 'med' : 'low';
}

/** certaintyLabel writes a certainty for people: "high" → "High certainty". */
export function certaintyLabel(c: string): string {
  if (!c) return 'Certainty unknown';
  return c[0].toUpperCase() + c.slice(1) + ' certainty';
}

/**
 * gaugeArc is the SVG path of a half-circle gauge filled to value (0–100):
 * from the left end (value 0) clockwise over the top to the right end
 * (value 100), around (cx, cy) with radius r. Empty for 0.
 */
export function gaugeArc(value: number, cx: number, cy: number, r: number): string {
  const v = Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0));
  if (v === 0) return '';
  const a = Math.PI * (1 - v / 100); // 180° at 0, 0° at 100
  const x = cx + r * Math.cos(a);
  const y = cy - r * Math.sin(a);
  const f = (n: number) => String(Math.round(n * 100) / 100);
  return `M ${f(cx - r)} ${f(cy)} A ${f(r)} ${f(r)} 0 0 1 ${f(x)} ${f(y)}`;
}

/** sqlConsoleHref opens a query in the Forensics page's SQL console. */
export function sqlConsoleHref(sql: string): string {
  return '/forensics?tab=sql&sql=' + encodeURIComponent(sql);
}

/**
 * evidenceFor finds the evidence behind a finding: the detector's own
 * evidence (its figures and the query that reproduces them), or for the
 * campaign finding the campaign's.
 */
export function evidenceFor(report: CallerReport, detector: string, campaigns: Campaign[]): Evidence | null {
  if (detector === 'campaign' && report.campaign) {
    return campaigns.find((c) => c.id === report.campaign!.id)?.evidence ?? null;
  }
  const d = report.detectors.find((x) => x.detector === detector);
  return d ? d.evidence : null;
}

/** investigationHref is the URL of an investigation of callers over a window. */
export function investigationHref(callers: string[], since?: string, until?: string): string {
  const p = new URLSearchParams();
  if (callers.length) p.set('callers', callers.join(','));
  if (since && since !== '7d') p.set('since', since);
  if (until) p.set('until', until);
  return withQuery('/investigations', p.toString());
}

/**
 * incidentInvestigationHref investigates an incident's addresses and keys:
 * over the last 7 days when it started within them, else over its own
 * span, an hour either side.
 */
export function incidentInvestigationHref(inc: { ips: string[] | null; api_key_ids: string[] | null; first_seen: string; last_seen: string }, now: number = Date.now()): string {
  const callers = [...(inc.ips ?? []), ...(inc.api_key_ids ?? []).map((k) => (isIP(k) || k.startsWith('key:') ? 'key:' + k : k))];
  const first = Date.parse(inc.first_seen);
  const last = Date.parse(inc.last_seen);
  if (!Number.isFinite(first) || first >= now - 7 * 86400e3) return investigationHref(callers);
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const until = Number.isFinite(last) ? Math.min(now, last + 3600e3) : now;
  return investigationHref(callers, iso(first - 3600e3), iso(until));
}

/** worstCaller picks the caller to show first: the riskiest, the first given on a tie. */
export function worstCaller(res: InvestigationResult): CallerReport | undefined {
  let worst: CallerReport | undefined;
  for (const c of res.callers) if (!worst || c.risk_score > worst.risk_score) worst = c;
  return worst;
}

/** callerLabel names a caller as the page shows it. */
export function callerLabel(c: { kind: string; value: string }): string {
  return c.kind === 'api_key' ? 'key ' + c.value : c.value;
}

/** callerParam is how a caller goes back into the URL (keys that read as addresses keep their prefix). */
export function callerParam(c: { kind: string; value: string }): string {
  return c.kind === 'api_key' && isIP(c.value) ? 'key:' + c.value : c.value;
}

/**
 * rangeBars lays out each member's part of a campaign's id range on one
 * axis (0–1), so complementary ranges read at a glance. Members whose
 * range spans more than ten times the others' ids (probes of far ids) are
 * clipped to the common scale, and flagged.
 */
export function rangeBars(ranges: { ip: string; min: number; max: number }[]): { ip: string; x: number; w: number; clipped: boolean }[] {
  if (!ranges.length) return [];
  // The common scale: the median member's max, times a margin, bounds far outliers.
  const maxes = ranges.map((r) => r.max).sort((a, b) => a - b);
  const median = maxes[Math.floor((maxes.length - 1) / 2)];
  const lo = Math.min(...ranges.map((r) => r.min));
  let hi = Math.max(...maxes.filter((m) => m <= Math.max(median * 10, 1)));
  if (!(hi > lo)) hi = lo + 1;
  return ranges.map((r) => {
    const a = Math.max(lo, Math.min(hi, r.min));
    const b = Math.max(lo, Math.min(hi, r.max));
    return { ip: r.ip, x: (a - lo) / (hi - lo), w: Math.max(0.005, (b - a) / (hi - lo)), clipped: r.max > hi || r.min < lo };
  });
}

/** figureText writes a finding's figure value for people. */
export function figureText(v: unknown): string {
  if (v == null) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Math.round(v * 1000) / 1000);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
