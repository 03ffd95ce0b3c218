import { describe, expect, it } from 'vitest';
import { conditionsText, emptyForm, expiryText, expiryValue, formProblems, fromExclusion, listQuery, scopeText, splitMatchers, statusInfo, toExclusion } from './exclusions';
import type { Exclusion } from './types';

describe('the new exclusion form', () => {
  it('starts in shadow over the existing rules, expiring in 30 days', () => {
    const f = emptyForm();
    expect(f).toMatchObject({ mode: 'shadow', scope: 'existing', expires: '30d', match: 'all' });
    expect(formProblems(f)).toEqual(['Add at least one condition with a value.', 'Say why this traffic is benign (the reason is required).']);
    expect(formProblems(f, { draft: true })).toEqual(['Add at least one condition with a value.']);
  });
  it('writes the exclusion the API takes', () => {
    const f = { ...emptyForm(), id: ' exc-e2e ', reason: ' uptime checker ', scope: 'rules' as const, ruleIds: ['b', 'a', 'a'],
      conditions: [{ kind: 'ip_cidr' as const, value: ' 104.248.73.19 ' }, { kind: 'path_glob' as const, value: '  ' }] };
    expect(formProblems(f)).toEqual([]);
    expect(toExclusion(f)).toEqual({
      id: 'exc-e2e', conditions: [{ kind: 'ip_cidr', value: '104.248.73.19' }], match: 'all',
      scope: { kind: 'rules', rule_ids: ['a', 'b'] }, reason: 'uptime checker', expires_at: '30d', mode: 'shadow',
    });
    expect(toExclusion({ ...f, ruleIds: ['a'] }).scope).toEqual({ kind: 'rule', rule_ids: ['a'] });
    expect(toExclusion({ ...f, scope: 'any' }).scope).toEqual({ kind: 'any' });
  });
  it('leaves out what a draft does not need', () => {
    const d = toExclusion({ ...emptyForm(), conditions: [{ kind: 'status', value: '4xx' }], expires: 'custom', expiresCustom: '' }, { draft: true });
    expect(d).toEqual({ conditions: [{ kind: 'status', value: '4xx' }], match: 'all', scope: { kind: 'existing' }, mode: 'shadow' });
  });
  it('checks the id, the chosen rules and a custom expiry', () => {
    const f = { ...emptyForm(), id: '-bad id', reason: 'x', conditions: [{ kind: 'api_key' as const, value: 'k' }], scope: 'rules' as const, expires: 'custom' as const };
    const p = formProblems(f);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^The id takes/);
    expect(p[1]).toBe('Pick the rules it applies to.');
    expect(p[2]).toMatch(/expiry/);
  });
  it('turns dates into RFC 3339 and keeps durations', () => {
    expect(expiryValue({ expires: 'custom', expiresCustom: '2026-12-31' })).toBe('2026-12-31T00:00:00Z');
    expect(expiryValue({ expires: 'custom', expiresCustom: '2026-12-31T08:30' })).toBe('2026-12-31T08:30:00Z');
    expect(expiryValue({ expires: 'custom', expiresCustom: ' 45d ' })).toBe('45d');
    expect(expiryValue({ expires: 'never', expiresCustom: 'x' })).toBe('never');
  });
});

describe('a suggestion prefills the form', () => {
  const s: Exclusion = {
    id: '', conditions: [{ kind: 'api_key', value: 'dvk_partner' }, { kind: 'path_glob', value: '/v1/reports/**' }], match: 'all',
    scope: { kind: 'rules', rule_ids: ['bulk_reads_per_ip', 'api_key_volume_spike'] }, reason: 'scheduled partner export', expires_at: '2027-02-26T19:50:00Z', mode: 'active', hit_count: 0,
  };
  it('with its conditions, rules, reason and expiry', () => {
    const f = fromExclusion(s);
    expect(f).toMatchObject({ scope: 'rules', ruleIds: ['bulk_reads_per_ip', 'api_key_volume_spike'], reason: 'scheduled partner export', expires: 'custom', expiresCustom: '2027-02-26T19:50:00Z', mode: 'active' });
    expect(f.conditions).toEqual(s.conditions);
    expect(f.conditions).not.toBe(s.conditions);
    expect(toExclusion(f)).toMatchObject({ conditions: s.conditions, scope: { kind: 'rules', rule_ids: ['api_key_volume_spike', 'bulk_reads_per_ip'] }, expires_at: '2027-02-26T19:50:00Z' });
  });
  it('with never, a whole day, and every scope kind', () => {
    expect(fromExclusion({ ...s, expires_at: 'never', scope: { kind: 'any' } })).toMatchObject({ expires: 'never', scope: 'any' });
    expect(fromExclusion({ ...s, expires_at: '2027-01-01T00:00:00Z', scope: { kind: 'existing', rule_ids: ['a'] } })).toMatchObject({ expires: 'custom', expiresCustom: '2027-01-01', scope: 'existing' });
    expect(fromExclusion({ ...s, expires_at: '7d', scope: { kind: 'rule', rule_ids: ['a'] }, mode: 'shadow' })).toMatchObject({ expires: '7d', scope: 'rules', ruleIds: ['a'], mode: 'shadow' });
  });
});

describe('words', () => {
  it('describes conditions and scopes', () => {
    expect(conditionsText([{ kind: 'ip_cidr', value: '10.0.0.0/8' }, { kind: 'user_agent', value: 'kube-probe/*' }], 'all')).toBe('IP / CIDR 10.0.0.0/8 and User agent kube-probe/*');
    expect(conditionsText([{ kind: 'status', value: '404' }, { kind: 'asn', value: 'AS1' }], 'any')).toBe('Status 404 or ASN AS1');
    expect(conditionsText([], 'all')).toBe('no condition');
    expect(scopeText({ kind: 'any' })).toBe('every rule, later ones too');
    expect(scopeText({ kind: 'existing', rule_ids: ['a', 'b'] })).toBe('the 2 rules that existed when it was made');
    expect(scopeText({ kind: 'rule', rule_ids: ['a'] })).toBe('a');
    expect(scopeText({ kind: 'rules', rule_ids: ['a', 'b', 'c', 'd', 'e'] })).toBe('a, b, c and 2 more');
  });
  it('calls shadow and review exclusions pending', () => {
    expect(statusInfo('active')).toMatchObject({ label: 'active', pending: false });
    expect(statusInfo('shadow')).toMatchObject({ label: 'pending · shadow', pending: true });
    expect(statusInfo('review')).toMatchObject({ pending: true });
    expect(statusInfo('expired')).toMatchObject({ label: 'expired', kind: 'muted' });
  });
  it('words expiries', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(expiryText('never', now)).toBe('never');
    expect(expiryText('2026-12-28T12:00:00Z', now)).toBe('2026-12-28 12:00:00 (in 30 d)');
    expect(expiryText('soon', now)).toBe('soon');
  });
  it('maps list views to the API query', () => {
    expect(listQuery('current')).toBe('');
    expect(listQuery('review')).toBe('?expired=true');
    expect(listQuery('all')).toBe('?all=true');
  });
});

describe('splitMatchers', () => {
  it('splits at commas and new lines outside quotes', () => {
    expect(splitMatchers('alertname="bulk_reads_per_ip", peer_ip=~"10\\\\..*"')).toEqual(['alertname="bulk_reads_per_ip"', 'peer_ip=~"10\\\\..*"']);
    expect(splitMatchers('summary="a, b",severity="high"\nservice=api')).toEqual(['summary="a, b"', 'severity="high"', 'service=api']);
    expect(splitMatchers('x="say \\"hi, there\\"", y=1')).toEqual(['x="say \\"hi, there\\""', 'y=1']);
    expect(splitMatchers(' , ')).toEqual([]);
  });
});
