// Rule bodies for PUT /api/v1/rules/{id}: one rule as a YAML mapping, the
// format of the rule files. ruleYAML writes one from a rule's fields (to
// copy a built-in rule, or draft a narrow rule for an endpoint).
// Unit-tested (ruleyaml.test.ts).

export interface RuleFields {
  id: string;
  name: string;
  description?: string;
  severity: string;
  mode?: string;
  interval: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  group_by?: string[];
  sql: string;
}

/** yamlString quotes a one-line string when YAML would misread it bare. */
export function yamlString(s: string): string {
  if (s === '') return '""';
  const risky = /^[\s\-?:,[\]{}#&*!|>'"%@`~]|:\s|\s#|\s$|^(true|false|yes|no|on|off|null|~)$/i.test(s) || /^[-+]?(\d|\.\d)/.test(s);
  if (!risky && !/[\n\t"\\]/.test(s)) return s;
  return JSON.stringify(s); // a JSON string is a valid double-quoted YAML scalar
}

function block(s: string, indent: string): string {
  const body = s.replace(/\s+$/, '').split('\n').map((l) => (l ? indent + l : '')).join('\n');
  return '|\n' + body;
}

/** shortGoDuration writes "5m0s" as "5m" and "0s" as "": rule files use the short forms. */
export function shortGoDuration(d: string | undefined): string {
  if (!d || d === '0s') return '';
  return d.replace(/(\d)h0m0s$/, '$1h').replace(/(\d)m0s$/, '$1m').replace(/(\d[hm])0s$/, '$1');
}

/** ruleYAML writes a rule as the YAML mapping the API's PUT takes. */
export function ruleYAML(r: RuleFields): string {
  const lines: string[] = [];
  lines.push(`id: ${yamlString(r.id)}`);
  lines.push(`name: ${yamlString(r.name)}`);
  if (r.description) lines.push(r.description.includes('\n') ? `description: ${block(r.description, '  ')}` : `description: ${yamlString(r.description)}`);
  lines.push(`severity: ${yamlString(r.severity)}`);
  if (r.mode && r.mode !== 'active') lines.push(`mode: ${yamlString(r.mode)}`);
  lines.push(`interval: ${shortGoDuration(r.interval) || '1m'}`);
  const f = shortGoDuration(r.for);
  if (f) lines.push(`for: ${f}`);
  for (const key of ['labels', 'annotations'] as const) {
    const m = r[key];
    if (m && Object.keys(m).length) {
      lines.push(`${key}:`);
      for (const k of Object.keys(m).sort()) lines.push(`  ${yamlString(k)}: ${yamlString(m[k])}`);
    }
  }
  if (r.group_by?.length) {
    lines.push('group_by:');
    for (const g of r.group_by) lines.push(`  - ${yamlString(g)}`);
  }
  lines.push(`sql: ${block(r.sql, '  ')}`);
  return lines.join('\n') + '\n';
}

/** slugID turns a name into a rule id: lower case, underscores. */
export function slugID(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'rule';
}

/** sqlString quotes a value for a SQL string literal. */
export function sqlString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

/** endpointRule drafts a narrow rule for one endpoint: any caller's requests to it in the last interval. */
export function endpointRule(method: string, template: string, service: string): RuleFields {
  return {
    id: slugID(`endpoint ${method} ${template}`),
    name: `Requests to ${method} ${template}`,
    description: `Any client that calls ${method} ${template} on ${service}. Drafted from the API map.`,
    severity: 'high',
    interval: '5m',
    annotations: { summary: `{{.peer_ip}} called ${method} ${template} {{.requests}} times in 5 minutes` },
    sql: [
      'SELECT peer_ip, count() AS requests, sum(response_bytes) AS response_bytes',
      'FROM traces',
      "WHERE span_kind = 'Server'",
      '  AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()',
      `  AND service_name = ${sqlString(service)}`,
      `  AND http_method = ${sqlString(method)}`,
      `  AND if(http_route != '', http_route, http_path) = ${sqlString(template)}`,
      'GROUP BY peer_ip',
    ].join('\n'),
  };
}
