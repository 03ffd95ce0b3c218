import { describe, expect, it } from 'vitest';
import { endpointRule, ruleYAML, shortGoDuration, slugID, sqlString, yamlString } from './ruleyaml';

describe('yamlString', () => {
  const cases: [string, string][] = [
    ['plain words', 'plain words'],
    ['', '""'],
    ['high', 'high'],
    ['yes', '"yes"'],
    ['5m', '"5m"'],
    ['{{.peer_ip}} called', '"{{.peer_ip}} called"'],
    ['a: b', '"a: b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['- item', '"- item"'],
  ];
  for (const [in_, want] of cases) it(`yamlString(${JSON.stringify(in_)}) = ${want}`, () => expect(yamlString(in_)).toBe(want));
});

describe('ruleYAML', () => {
  it('writes a rule file mapping with the SQL as a block', () => {
    const y = ruleYAML({
      id: 'copy_of_x', name: 'Copy of X', severity: 'high', interval: '5m0s', for: '0s', mode: 'shadow',
      labels: { category: 'exposure' }, annotations: { summary: '{{.peer_ip}} did it' }, group_by: ['ip'],
      sql: "SELECT peer_ip\nFROM traces\nWHERE x = 'y'\n",
    });
    expect(y).toBe([
      'id: copy_of_x', 'name: Copy of X', 'severity: high', 'mode: shadow', 'interval: 5m',
      'labels:', '  category: exposure', 'annotations:', '  summary: "{{.peer_ip}} did it"',
      'group_by:', '  - ip', 'sql: |', '  SELECT peer_ip', '  FROM traces', "  WHERE x = 'y'", '',
    ].join('\n'));
  });
  it('shortGoDuration', () => {
    expect(shortGoDuration('5m0s')).toBe('5m');
    expect(shortGoDuration('1h0m0s')).toBe('1h');
    expect(shortGoDuration('2m30s')).toBe('2m30s');
    expect(shortGoDuration('0s')).toBe('');
  });
});

describe('endpointRule', () => {
  it('drafts a narrow rule with quoted literals', () => {
    const r = endpointRule('GET', "/v1/admin/export'", 'datavault-api');
    expect(r.id).toBe('endpoint_get_v1_admin_export');
    expect(r.sql).toContain("= '/v1/admin/export'''");
    expect(r.sql).toContain("service_name = 'datavault-api'");
  });
  it('slugID and sqlString', () => {
    expect(slugID('  Hello, World! ')).toBe('hello_world');
    expect(sqlString("it's")).toBe("'it''s'");
  });
});
