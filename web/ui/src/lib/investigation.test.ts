import { describe, expect, it } from 'vitest';
import {
  callerParam, certaintyLabel, evidenceFor, figureText, gaugeArc, incidentInvestigationHref, investigationHref, isIP, parseCallers,
  rangeBars, riskBand, severityKind, sqlConsoleHref, verdictParts, worstCaller,
} from './investigation';
import { decodeQuery } from './query';
import type { CallerReport, Campaign, InvestigationResult } from './types';

describe('isIP', () => {
  it('reads IPv4 and IPv6 addresses', () => {
    for (const ip of ['104.248.73.19', '0.0.0.0', '255.255.255.255', '::1', '2001:db8::7', 'fe80::1:2:3:4', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8']) expect(isIP(ip), ip).toBe(true);
  });
  it('refuses ranges, bad octets and key ids', () => {
    for (const s of ['10.0.0.0/8', '256.1.1.1', '1.2.3', '01.2.3.4', 'dvk_k6QvokFKCsy1e7Sf', '1:2:3:4:5:6:7:8:9', '1::2::3', 'cafe', '']) expect(isIP(s), s).toBe(false);
  });
});

describe('parseCallers', () => {
  it('splits on commas, spaces and new lines, without duplicates', () => {
    const p = parseCallers('104.248.73.19, 167.71.205.88\n178.128.44.156  104.248.73.19;dvk_k6QvokFKCsy1e7Sf');
    expect(p.callers.map((c) => c.text)).toEqual(['104.248.73.19', '167.71.205.88', '178.128.44.156', 'dvk_k6QvokFKCsy1e7Sf']);
    expect(p.callers.map((c) => c.kind)).toEqual(['ip', 'ip', 'ip', 'api_key']);
    expect(p.problems).toEqual([]);
  });
  it('reads key: as a key id even when it looks like an address', () => {
    const p = parseCallers(['key:10.0.0.1', 'key:']);
    expect(p.callers).toEqual([{ text: 'key:10.0.0.1', kind: 'api_key', value: '10.0.0.1' }]);
    expect(p.problems).toEqual(['key:: no key id after "key:"']);
  });
  it('names what would be read as a key id by mistake', () => {
    const p = parseCallers('10.0.0.0/24 300.1.1.1 1.2.3 2001:db8::1::2');
    expect(p.callers).toEqual([]);
    expect(p.problems).toHaveLength(4);
    expect(p.problems[0]).toMatch(/ranges are not investigated/);
    expect(p.problems[1]).toMatch(/not an IP address \(write key:300\.1\.1\.1/);
  });
  it('reads an empty form as no caller', () => expect(parseCallers('  , ')).toEqual({ callers: [], problems: [] }));
});

describe('verdicts', () => {
  it('splits a verdict into severity and class', () => {
    expect(verdictParts('Malicious — Data Exfiltration')).toEqual({ severity: 'Malicious', label: 'Data Exfiltration' });
    expect(verdictParts('Benign')).toEqual({ severity: 'Benign', label: '' });
  });
  it('colours severities', () => {
    expect(severityKind('Malicious')).toBe('crit');
    expect(severityKind('Suspicious')).toBe('high');
    expect(severityKind('Benign')).toBe('ok');
    expect(severityKind('Inconclusive')).toBe('muted');
  });
  it('bands risk scores as the meters do', () => {
    expect([0, 39, 40, 69, 70, 100].map(riskBand)).toEqual(['low', 'low', 'med', 'med', 'high', 'high']);
  });
  it('words certainties', () => {
    expect(certaintyLabel('high')).toBe('High certainty');
    expect(certaintyLabel('')).toBe('Certainty unknown');
  });
});

describe('gaugeArc', () => {
  it('is empty at 0 and clamps out-of-range values', () => {
    expect(gaugeArc(0, 60, 60, 50)).toBe('');
    expect(gaugeArc(-5, 60, 60, 50)).toBe('');
    expect(gaugeArc(NaN, 60, 60, 50)).toBe('');
    expect(gaugeArc(150, 60, 60, 50)).toBe(gaugeArc(100, 60, 60, 50));
  });
  it('starts at the left end and ends on the half circle', () => {
    expect(gaugeArc(100, 60, 60, 50)).toBe('M 10 60 A 50 50 0 0 1 110 60');
    expect(gaugeArc(50, 60, 60, 50)).toBe('M 10 60 A 50 50 0 0 1 60 10');
    const m = gaugeArc(25, 60, 60, 50).match(/ ([\d.]+) ([\d.]+)$/)!;
    expect(Number(m[1])).toBeCloseTo(60 - 50 * Math.SQRT1_2, 1);
    expect(Number(m[2])).toBeCloseTo(60 - 50 * Math.SQRT1_2, 1);
  });
});

const report = (over: Partial<CallerReport>): CallerReport => ({
  caller: { kind: 'ip', value: '104.248.73.19' }, verdict: 'Malicious — Data Exfiltration', severity: 'Malicious', certainty: 'high', risk_score: 100,
  summary: '', findings: [], attack_techniques: [], owasp: [], remediation: [], campaign: null,
  detectors: [{ detector: 'enumeration', score: 1, fired: true, finding: 'x', evidence: { figures: {}, sql: 'SELECT 1' } }],
  activity: { requests: 1, bytes: 1, avg_bytes: 1, active_days: 1, endpoints: 1, top_endpoints: [], status: { ok: 1, client_errors: 0, server_errors: 0, unauthorized: 0, forbidden: 0, not_found: 0, too_many_requests: 0 }, api_keys: [], user_agents: [], ips: [], networks: 1 },
  ...over,
});

describe('evidence', () => {
  const camp = { id: 'C-1', evidence: { figures: {}, sql: 'SELECT 2' } } as unknown as Campaign;
  it('finds a finding detector evidence query', () => {
    expect(evidenceFor(report({}), 'enumeration', [])?.sql).toBe('SELECT 1');
    expect(evidenceFor(report({}), 'activity', [])).toBeNull();
  });
  it('takes the campaign finding evidence from the campaign', () => {
    const r = report({ campaign: { id: 'C-1', verdict: '', members: 3, summary: '' } });
    expect(evidenceFor(r, 'campaign', [camp])?.sql).toBe('SELECT 2');
    expect(evidenceFor(report({}), 'campaign', [camp])).toBeNull();
  });
  it('links a query to the SQL console, where the page reads it back', () => {
    const sql = "SELECT count() FROM traces WHERE peer_ip = '1.2.3.4' AND http_target LIKE '%&page=%'";
    const href = sqlConsoleHref(sql);
    expect(href.startsWith('/forensics?tab=sql&sql=')).toBe(true);
    const q = decodeQuery({ tab: { kind: 'enum', values: ['ask', 'sql'], default: 'ask' }, sql: { kind: 'string' } } as const, href.slice(href.indexOf('?')));
    expect(q).toEqual({ tab: 'sql', sql });
  });
});

describe('links to an investigation', () => {
  it('holds the callers and a non-default window', () => {
    expect(investigationHref(['104.248.73.19', '167.71.205.88'])).toBe('/investigations?callers=104.248.73.19%2C167.71.205.88');
    expect(investigationHref(['key:dvk_1'], '30d')).toBe('/investigations?callers=key%3Advk_1&since=30d');
    expect(investigationHref([])).toBe('/investigations');
  });
  const now = Date.parse('2026-11-28T12:00:00Z');
  it('investigates a recent incident over the last 7 days', () => {
    const href = incidentInvestigationHref({ ips: ['104.248.73.19'], api_key_ids: ['dvk_1'], first_seen: '2026-11-25T02:31:00Z', last_seen: '2026-11-28T10:56:00Z' }, now);
    expect(href).toBe('/investigations?callers=104.248.73.19%2Cdvk_1');
  });
  it('investigates an older incident over its own span', () => {
    const href = incidentInvestigationHref({ ips: ['10.0.0.1'], api_key_ids: ['10.0.0.2'], first_seen: '2026-10-01T10:00:00Z', last_seen: '2026-10-02T10:00:00Z' }, now);
    const p = new URL(href, 'http://x').searchParams;
    expect(p.get('callers')).toBe('10.0.0.1,key:10.0.0.2');
    expect(p.get('since')).toBe('2026-10-01T09:00:00Z');
    expect(p.get('until')).toBe('2026-10-02T11:00:00Z');
  });
  it('keeps the prefix of keys that read as addresses', () => {
    expect(callerParam({ kind: 'api_key', value: '10.0.0.2' })).toBe('key:10.0.0.2');
    expect(callerParam({ kind: 'api_key', value: 'dvk_1' })).toBe('dvk_1');
    expect(callerParam({ kind: 'ip', value: '10.0.0.2' })).toBe('10.0.0.2');
  });
});

describe('worstCaller', () => {
  it('picks the riskiest, the first on a tie', () => {
    const a = report({ caller: { kind: 'ip', value: 'a' }, risk_score: 40 });
    const b = report({ caller: { kind: 'ip', value: 'b' }, risk_score: 90 });
    const c = report({ caller: { kind: 'ip', value: 'c' }, risk_score: 90 });
    expect(worstCaller({ callers: [a, b, c] } as InvestigationResult)).toBe(b);
    expect(worstCaller({ callers: [] as CallerReport[] } as InvestigationResult)).toBeUndefined();
  });
});

describe('rangeBars', () => {
  it('lays complementary ranges side by side', () => {
    const bars = rangeBars([{ ip: 'a', min: 0, max: 50 }, { ip: 'b', min: 50, max: 100 }]);
    expect(bars[0]).toMatchObject({ x: 0, w: 0.5, clipped: false });
    expect(bars[1]).toMatchObject({ x: 0.5, w: 0.5, clipped: false });
  });
  it('clips a member probing far ids to the common scale', () => {
    const bars = rangeBars([{ ip: 'a', min: 0, max: 99_999_999 }, { ip: 'b', min: 174, max: 5515 }, { ip: 'c', min: 8280, max: 9291 }]);
    expect(bars[0]).toMatchObject({ x: 0, w: 1, clipped: true });
    expect(bars[2].x + bars[2].w).toBeCloseTo(1);
    expect(bars[1].clipped).toBe(false);
  });
  it('handles one id and none', () => {
    expect(rangeBars([])).toEqual([]);
    expect(rangeBars([{ ip: 'a', min: 5, max: 5 }])[0].w).toBeGreaterThan(0);
  });
});

describe('figureText', () => {
  it('writes figures for people', () => {
    expect(figureText(14603)).toBe('14,603');
    expect(figureText(0.98751)).toBe('0.988');
    expect(figureText(true)).toBe('yes');
    expect(figureText(null)).toBe('–');
    expect(figureText('GET /v1/admin/export')).toBe('GET /v1/admin/export');
    expect(figureText([1, 2])).toBe('[1,2]');
  });
});
