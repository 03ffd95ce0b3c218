// Investigation: the behavioural verdict on IPs or API keys over a window
// (verdict, risk, certainty), the findings with the evidence query behind
// each, the ATT&CK and OWASP API Top 10 mapping, remediation and the
// campaigns the callers belong to; also the campaigns of a window and the
// API consumers (keys) seen in traffic. The URL holds the callers and the
// window, so an investigation can be shared.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api';
import { Badge, Button, Card, Code, Empty, ErrorBox, Field, Gauge, KV, Meter, Spinner, Tabs } from '../../components/ui';
import { useCan, useFilters, useLoad, useTitle } from '../../hooks';
import { formatBytes, formatCount, formatPercent, formatTime } from '../../lib/format';
import {
  callerLabel, callerParam, certaintyLabel, evidenceFor, figureText, investigationHref, parseCallers, rangeBars, riskBand,
  severityKind, sqlConsoleHref, verdictParts, worstCaller,
} from '../../lib/investigation';
import { apiQuery } from '../../lib/query';
import type { Campaign, CampaignReport, CallerReport, InvestigationResult, KeyInventory } from '../../lib/types';

const windows = ['24h', '7d', '14d', '30d'];
const tabs = ['investigate', 'campaigns', 'keys'] as const;
type Tab = (typeof tabs)[number];

const schema = {
  tab: { kind: 'enum', values: tabs, default: 'investigate' },
  callers: { kind: 'list' },
  since: { kind: 'string', default: '7d' },
  until: { kind: 'string' },
  narrate: { kind: 'bool' },
  caller: { kind: 'string' },
  new_within: { kind: 'enum', values: ['7d', '30d', '60d', '90d', 'any'], default: '60d' },
} as const;

export function InvestigationsPage() {
  useTitle('Investigation');
  const [f, setF] = useFilters(schema);
  return (
    <div class="page page-wide">
      <h1>Investigation</h1>
      <Tabs label="View" value={f.tab as Tab} onChange={(t) => setF({ tab: t }, { push: true })}
        tabs={[['investigate', 'Investigate callers'], ['campaigns', 'Campaigns'], ['keys', 'API consumers']]} />
      {f.tab === 'campaigns' ? <Campaigns since={f.since} onSince={(since) => setF({ since })} />
        : f.tab === 'keys' ? <Keys since={f.since} within={f.new_within} onChange={(p) => setF(p)} />
          : <Investigate />}
    </div>
  );
}

/** WindowSelect picks the window; a window that came in the URL (an incident's span) stays selectable. */
function WindowSelect({ since, until, onChange }: { since: string; until?: string; onChange: (since: string) => void }) {
  const custom = !windows.includes(since);
  return (
    <Field label="Window">
      <select value={since} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {windows.map((w) => <option key={w} value={w}>last {w}</option>)}
        {custom && <option value={since}>{Number.isNaN(Date.parse(since)) ? 'last ' + since : `from ${formatTime(since)}${until ? ' to ' + formatTime(until) : ''}`}</option>}
      </select>
    </Field>
  );
}

function Investigate() {
  const can = useCan('viewer');
  const [f, setF] = useFilters(schema);
  const [text, setText] = useState(f.callers.join(', '));
  useEffect(() => setText(f.callers.join(', ')), [f.callers.join(',')]);
  const parsed = parseCallers(text);
  // The URL's callers are read as the form's are: what is not a caller is named, not sent.
  const callers = parseCallers(f.callers).callers.map((c) => c.text);
  const body = { callers, since: f.since, until: f.until || undefined, narrate: f.narrate || undefined };
  const key = callers.length && can ? JSON.stringify(body) : null;
  // The answer keeps its key: after a failed run, the previous callers' verdict is not shown as this one's.
  const res = useLoad(key, () => api.post<InvestigationResult>('/investigations', body).then((r) => ({ key, r })));
  const submit = (e: Event) => {
    e.preventDefault();
    if (!parsed.callers.length) return;
    const next = parsed.callers.map((c) => c.text);
    if (next.join(',') === f.callers.join(',')) res.reload();
    else setF({ callers: next, caller: '' }, { push: true });
  };
  return (
    <>
      <form class="toolbar" role="search" aria-label="Investigate callers" onSubmit={submit}>
        <Field label="IPs or API keys" class="grow">
          <input name="callers" class="mono" value={text} placeholder="104.248.73.19, 167.71.205.88, key:dvk_…" title="Separated by commas or spaces; key:ID names a key id that reads as an address"
            onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </Field>
        <WindowSelect since={f.since} until={f.until} onChange={(since) => setF({ since, until: windows.includes(since) ? '' : f.until })} />
        <label class="check" title="Needs an LLM configured on the server; it words the finding and cannot change it"><input type="checkbox" checked={f.narrate} onChange={() => setF({ narrate: !f.narrate })} />LLM narrative</label>
        {can && <Button kind="primary" type="submit" busy={res.loading} disabled={!parsed.callers.length}>Investigate</Button>}
      </form>
      {parsed.problems.length > 0 && <div class="note small" role="alert">{parsed.problems.map((p) => <div key={p}>{p}</div>)}</div>}
      <ErrorBox error={res.error} retry={res.reload} />
      {!callers.length ? (
        <Card><Empty>Name one or more IP addresses or API keys to get a verdict with its evidence: findings, ATT&CK and OWASP mapping, remediation and the campaign they belong to. Or start from the <a href="/investigations?tab=campaigns">campaigns</a> or the <a href="/investigations?tab=keys">API consumers</a> of the window.</Empty></Card>
      ) : res.loading ? (
        <Card><Spinner label={`Investigating ${callers.length} caller${callers.length === 1 ? '' : 's'}`} /><div class="progress"><span /></div></Card>
      ) : res.data?.key === key && <Report r={res.data.r} selected={f.caller} onSelect={(c) => setF({ caller: c })} narrate={f.narrate} />}
    </>
  );
}

function Report({ r, selected, onSelect, narrate }: { r: InvestigationResult; selected: string; onSelect: (c: string) => void; narrate: boolean }) {
  const o = r.overall;
  const v = verdictParts(o.verdict);
  const kind = severityKind(o.severity);
  const current = r.callers.find((c) => callerParam(c.caller) === selected) ?? worstCaller(r);
  return (
    <div class="answer">
      <Card title="Verdict" class={'verdict verdict-' + kind}>
        <div class="verdict-body">
          <Gauge value={o.risk_score} label="Risk score" />
          <div class="verdict-text">
            <p class="verdict-label"><span class={'verdict-sev sev-text-' + kind}>{v.severity}</span>{v.label && <> — <span>{v.label}</span></>}</p>
            <div class="chips">
              <Badge kind={o.certainty === 'high' ? 'ok' : o.certainty === 'medium' ? 'med' : 'muted'}>{certaintyLabel(o.certainty)}</Badge>
              <Badge kind={o.flagged ? 'high' : 'muted'}>{o.flagged} of {o.callers} caller{o.callers === 1 ? '' : 's'} flagged</Badge>
              {r.campaigns.length > 0 && <Badge kind="warn">{r.campaigns.length} campaign{r.campaigns.length === 1 ? '' : 's'}</Badge>}
            </div>
            <p>{o.summary}</p>
            <p class="small muted">{formatTime(r.since)} – {formatTime(r.until)} UTC · {formatCount(r.queries)} queries · {Math.round(r.elapsed_ms)} ms</p>
          </div>
        </div>
        {r.narrative && (
          <div class="narrative">
            <h3>Narrative (LLM, checked against the figures)</h3>
            <p>{r.narrative.summary}</p>
            {r.narrative.remediation_suggestions?.length > 0 && <ul>{r.narrative.remediation_suggestions.map((s) => <li key={s}>{s}</li>)}</ul>}
          </div>
        )}
        {narrate && r.narrative_error && <p class="small muted">No narrative: {r.narrative_error}</p>}
      </Card>
      {r.callers.length > 1 && (
        <Card title={`Callers (${r.callers.length})`}>
          <table class="table" aria-label="Callers">
            <thead><tr><th>Caller</th><th>Verdict</th><th>Risk</th><th>Certainty</th><th class="num">Requests</th><th class="num">Bytes</th><th>Campaign</th></tr></thead>
            <tbody>
              {r.callers.map((c) => {
                const id = callerParam(c.caller);
                const on = c === current;
                return (
                  <tr key={id} class={on ? 'row-on' : ''}>
                    <td><button class="linkish mono" aria-pressed={on} onClick={() => onSelect(id)}>{callerLabel(c.caller)}</button></td>
                    <td><Badge kind={severityKind(c.severity)}>{c.verdict}</Badge></td>
                    <td><Meter value={c.risk_score} label={`risk of ${callerLabel(c.caller)}`} /></td>
                    <td>{c.certainty}</td>
                    <td class="num">{formatCount(c.activity.requests)}</td>
                    <td class="num">{formatBytes(c.activity.bytes)}</td>
                    <td class="small mono">{c.campaign?.id ?? '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Card>
      )}
      {current && <CallerView c={current} campaigns={r.campaigns} />}
      {r.campaigns.map((c) => <CampaignCard key={c.id} c={c} investigated={r.callers.map((x) => x.caller.value)} />)}
    </div>
  );
}

function tracesHref(c: { kind: string; value: string }, endpoint?: string): string {
  const ep = endpoint ? endpoint.replace(/^[A-Z]+ /, '') : '';
  return '/traces' + apiQuery({ [c.kind === 'ip' ? 'ip' : 'key']: c.value, endpoint: ep, since: '7d' });
}

function CallerView({ c, campaigns }: { c: CallerReport; campaigns: Campaign[] }) {
  const label = callerLabel(c.caller);
  const a = c.activity;
  const en = c.enrichment;
  return (
    <section class="caller" aria-label={`Caller ${label}`}>
      <div class="page-head">
        <div>
          <div class="muted small">{c.caller.kind === 'ip' ? 'IP address' : 'API key'}</div>
          <h2 class="mono caller-name">{c.caller.value}</h2>
          <div class="chips">
            <Badge kind={severityKind(c.severity)}>{c.verdict}</Badge>
            <Badge kind={riskBand(c.risk_score)}>risk {c.risk_score}</Badge>
            <Badge kind="muted">{certaintyLabel(c.certainty)}</Badge>
          </div>
        </div>
        <div class="page-actions">
          {c.caller.kind === 'ip' && <a class="btn btn-small" href={`/ips?ip=${encodeURIComponent(c.caller.value)}`}>IP details</a>}
          <a class="btn btn-small" href={tracesHref(c.caller)}>Traces</a>
        </div>
      </div>
      <p>{c.summary}</p>
      {c.attack_pattern && <p class="small"><b>Pattern:</b> {c.attack_pattern}</p>}
      <div class="grid-2">
        <Card title={`Findings (${c.findings.length})`} class="span-2">
          {!c.findings.length ? <Empty>No finding.</Empty> : (
            <ol class="findings" aria-label="Findings">
              {c.findings.map((fd, i) => <FindingItem key={i} detector={fd.detector} text={fd.text} figures={fd.figures} evidence={evidenceFor(c, fd.detector, campaigns)} />)}
            </ol>
          )}
        </Card>
        <Card title="ATT&CK and OWASP API Top 10">
          <h3>MITRE ATT&CK</h3>
          {!c.attack_techniques.length ? <p class="muted small">none</p> : (
            <ul class="mapping" aria-label="ATT&CK techniques">{c.attack_techniques.map((t) => <li key={t.id}><span class="mono tech-id">{t.id}</span> {t.name}</li>)}</ul>
          )}
          <h3>OWASP API Security Top 10 (2023)</h3>
          {!c.owasp.length ? <p class="muted small">none</p> : (
            <ul class="mapping" aria-label="OWASP API Top 10">{c.owasp.map((t) => <li key={t.id}><span class="mono tech-id">{t.id.replace(':2023', '')}</span> {t.name}</li>)}</ul>
          )}
        </Card>
        <Card title="Remediation">
          {!c.remediation.length ? <p class="muted small">Nothing to do.</p> : <ol class="remediation" aria-label="Remediation">{c.remediation.map((s) => <li key={s}>{s}</li>)}</ol>}
        </Card>
        <Card title="Activity">
          <KV rows={[
            ['Requests', formatCount(a.requests)],
            ['Downloaded', `${formatBytes(a.bytes)} (${formatBytes(a.avg_bytes)} a response)`],
            ['Seen', `${formatTime(a.first_seen)} – ${formatTime(a.last_seen)} (${a.active_days} active day${a.active_days === 1 ? '' : 's'})`],
            ['Responses', `${formatCount(a.status.ok)} 2xx · ${formatCount(a.status.client_errors)} 4xx · ${formatCount(a.status.server_errors)} 5xx`],
            ['User agents', a.user_agents.length ? <span class="mono small">{a.user_agents.join(' · ')}</span> : '–'],
            [c.caller.kind === 'ip' ? 'Address' : 'Addresses', a.ips.length ? <span class="chips">{a.ips.map((ip) => <a key={ip} class="mono" href={`/ips?ip=${encodeURIComponent(ip)}`}>{ip}</a>)}</span> : '–'],
            ...(en ? [['Network', [en.country, en.asn && 'AS' + en.asn, en.as_org || en.isp, en.usage_type, en.data_center && 'data center', en.tor && 'Tor'].filter(Boolean).join(' · ') || '–'] as [string, string]] : []),
          ]} />
          {a.api_keys.length > 0 && (
            <table class="table table-compact" aria-label="API keys used">
              <thead><tr><th>API key</th><th class="num">Age</th><th class="num">Addresses</th><th class="num">Requests (all)</th></tr></thead>
              <tbody>{a.api_keys.map((k) => (
                <tr key={k.api_key_id}>
                  <td class="mono small">{k.api_key_id}{k.created_by && <div class="muted small">created by {k.created_by}</div>}</td>
                  <td class="num">{k.age_censored ? '≥' : ''}{k.age_days.toFixed(1)} d</td>
                  <td class="num">{k.ips} in {k.networks} nets</td>
                  <td class="num">{formatCount(k.key_requests)}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        </Card>
        <Card title="Endpoints">
          {!a.top_endpoints.length ? <p class="muted small">none</p> : (
            <table class="table table-compact" aria-label="Top endpoints">
              <thead><tr><th>Endpoint</th><th class="num">Share</th><th class="num">Bytes</th><th /></tr></thead>
              <tbody>{a.top_endpoints.map((t) => (
                <tr key={t.endpoint}><td class="mono small">{t.endpoint}</td><td class="num">{formatPercent(t.share)}</td><td class="num">{formatBytes(t.bytes)}</td>
                  <td><a class="small" href={tracesHref(c.caller, t.endpoint)}>traces</a></td></tr>
              ))}</tbody>
            </table>
          )}
        </Card>
        <Card title="Detectors" class="span-2">
          <table class="table table-compact" aria-label="Detectors">
            <thead><tr><th>Detector</th><th>Score</th><th>Fired</th><th>Evidence</th></tr></thead>
            <tbody>{c.detectors.map((d) => (
              <tr key={d.detector} class={d.fired ? '' : 'row-disabled'}>
                <td class="mono small">{d.detector}</td>
                <td><Meter value={Math.round(d.score * 100)} label={`score of ${d.detector}`} /></td>
                <td>{d.fired ? <Badge kind="high">fired</Badge> : <span class="muted small">no</span>}</td>
                <td>{d.evidence?.sql ? <a class="small" href={sqlConsoleHref(d.evidence.sql)}>evidence query</a> : <span class="muted small">–</span>}</td>
              </tr>
            ))}</tbody>
          </table>
        </Card>
      </div>
    </section>
  );
}

function FindingItem({ detector, text, figures, evidence }: { detector: string; text: string; figures?: Record<string, unknown>; evidence: { sql?: string; note?: string; figures: Record<string, unknown> | null } | null }) {
  const [open, setOpen] = useState(false);
  const figs = Object.entries(figures ?? {});
  return (
    <li class="finding">
      <div class="finding-head"><Badge kind="muted">{detector.replace(/_/g, ' ')}</Badge><span>{text}</span></div>
      {evidence?.note && <p class="small muted">{evidence.note}</p>}
      <div class="finding-actions">
        {evidence?.sql && <a class="btn btn-small" href={sqlConsoleHref(evidence.sql)}>Run the evidence query</a>}
        {evidence?.sql && <button class="btn btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? 'Hide the query' : 'Show the query'}</button>}
        {figs.length > 0 && (
          <details class="figures">
            <summary>Figures ({figs.length})</summary>
            <KV rows={figs.map(([k, v]) => [<span class="mono small">{k}</span>, <span class="mono small">{figureText(v)}</span>])} />
          </details>
        )}
      </div>
      {open && evidence?.sql && <Code label={`Evidence query of ${detector}`}>{evidence.sql}</Code>}
    </li>
  );
}

function CampaignCard({ c, investigated, since }: { c: Campaign; investigated?: string[]; since?: string }) {
  const missing = investigated ? c.ips.filter((ip) => !investigated.includes(ip)) : c.ips;
  const bars = rangeBars(c.id_ranges ?? []);
  return (
    <Card title={`Campaign ${c.id}`} class="campaign" actions={
      <>
        {missing.length > 0 && <a class="btn btn-small" href={investigationHref(c.ips, since)}>Investigate {investigated ? 'all ' : 'these '}{c.ip_count} addresses</a>}
        {c.evidence?.sql && <a class="btn btn-small" href={sqlConsoleHref(c.evidence.sql)}>Run the evidence query</a>}
      </>
    }>
      <div class="chips"><Badge kind={severityKind(c.severity)}>{c.verdict}</Badge><Badge>{c.ip_count} address{c.ip_count === 1 ? '' : 'es'}</Badge></div>
      <p>{c.summary}</p>
      <div class="grid-2">
        <KV rows={[
          ['Target', <span class="mono">{c.target}</span>],
          ['Linked by', c.linked_by.join(' · ') || '–'],
          ['Members', <span class="chips" aria-label="Campaign members">{c.ips.map((ip) => <a key={ip} class="mono" href={`/ips?ip=${encodeURIComponent(ip)}`}>{ip}</a>)}{c.ip_count > c.ips.length && <span class="muted small">and {c.ip_count - c.ips.length} more</span>}</span>],
          ['API keys', c.api_keys.length ? <span class="mono small">{c.api_keys.join(', ')}</span> : '–'],
          ['User agents', c.user_agents.length ? <span class="mono small">{c.user_agents.join(' · ')}</span> : '–'],
          ['Traffic', `${formatCount(c.requests)} requests, ${formatBytes(c.bytes)}`],
          ['Objects', c.unique_objects ? `${formatCount(c.unique_objects)} distinct (${c.object_source ?? 'ids'}), overlap ${formatPercent(c.overlap)}` : '–'],
          ['Span', `${formatTime(c.first_seen)} – ${formatTime(c.last_seen)} (${c.duration_hours.toFixed(1)} h)`],
        ]} />
        {bars.length > 0 && (
          <div>
            <h3>Id ranges by member</h3>
            <ul class="ranges" aria-label="Id ranges by member">
              {(c.id_ranges ?? []).map((r, i) => (
                <li key={r.ip}>
                  <span class="mono small">{r.ip}</span>
                  <span class="range-track"><span class="range-fill" style={{ left: bars[i].x * 100 + '%', width: bars[i].w * 100 + '%' }} /></span>
                  <span class="small muted">{formatCount(r.min)}–{formatCount(r.max)} · {formatCount(r.unique)} ids{bars[i].clipped ? ' (beyond the scale)' : ''}</span>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      {c.timeline.length > 0 && (
        <>
          <h3>Timeline</h3>
          <ol class="timeline" aria-label={`Timeline of ${c.id}`}>
            {c.timeline.map((t, i) => <li key={i}><span class="tl-time">{formatTime(t.at)}</span><span>{t.text}{t.ip && <> · <a class="small" href={tracesHref({ kind: 'ip', value: t.ip })}>traces</a></>}</span></li>)}
          </ol>
        </>
      )}
    </Card>
  );
}

function Campaigns({ since, onSince }: { since: string; onSince: (s: string) => void }) {
  const q = apiQuery({ since });
  const res = useLoad(q, (s) => api.get<CampaignReport>('/campaigns' + q, s));
  return (
    <>
      <div class="toolbar"><WindowSelect since={since} onChange={onSince} /></div>
      <ErrorBox error={res.error} retry={res.reload} />
      {!res.data || res.loading ? <Card><Spinner label="Looking for campaigns" /></Card> : (
        <div class="answer">
          <p class="small muted">{formatCount(res.data.screened)} busy addresses screened over {formatTime(res.data.since)} – {formatTime(res.data.until)} · {formatCount(res.data.queries)} queries · {Math.round(res.data.elapsed_ms)} ms</p>
          {!res.data.campaigns.length ? <Card><Empty>No campaign in the window: no group of addresses shares a key, an agent and a target.</Empty></Card>
            : res.data.campaigns.map((c) => <CampaignCard key={c.id} c={c} since={since} />)}
        </div>
      )}
    </>
  );
}

function Keys({ since, within, onChange }: { since: string; within: string; onChange: (p: { since?: string; new_within?: string }) => void }) {
  const q = apiQuery({ since, first_seen_within: within === 'any' ? '' : within, limit: 200 });
  const res = useLoad(q, (s) => api.get<KeyInventory>('/keys' + q, s));
  const [showSQL, setShowSQL] = useState(false);
  return (
    <>
      <div class="toolbar">
        <WindowSelect since={since} onChange={(s) => onChange({ since: s })} />
        <Field label="First seen">
          <select value={within} onChange={(e) => onChange({ new_within: (e.target as HTMLSelectElement).value })}>
            {['7d', '30d', '60d', '90d'].map((w) => <option key={w} value={w}>within {w}</option>)}
            <option value="any">any time</option>
          </select>
        </Field>
      </div>
      <ErrorBox error={res.error} retry={res.reload} />
      {!res.data ? <Card><Spinner label="Listing API keys" /></Card> : (
        <Card title={`API keys (${formatCount(res.data.total)}${res.data.total > res.data.keys.length ? `, riskiest ${res.data.keys.length}` : ''})`}
          actions={<button class="btn btn-small" aria-expanded={showSQL} onClick={() => setShowSQL(!showSQL)}>{showSQL ? 'Hide SQL' : 'Show SQL'}</button>}>
          {showSQL && <><Code label="Inventory SQL">{res.data.sql}</Code><p class="small"><a href={sqlConsoleHref(res.data.sql)}>Open in the SQL console</a></p></>}
          {!res.data.keys.length ? <Empty>No API key matches.</Empty> : (
            <table class="table" aria-label="API keys">
              <thead><tr><th>API key</th><th>Risk</th><th class="num">Age</th><th class="num">Requests</th><th class="num">Bytes</th><th class="num">Addresses</th><th>Top endpoint</th><th>Risk factors</th><th /></tr></thead>
              <tbody>
                {res.data.keys.map((k) => (
                  <tr key={k.api_key_id}>
                    <td class="mono small">{k.api_key_id}{k.created_by && <div class="muted">created by {k.created_by}</div>}</td>
                    <td><Meter value={k.risk_score} label={`risk of ${k.api_key_id}`} /></td>
                    <td class="num nowrap" title={`first seen ${formatTime(k.first_seen)}`}>{k.age_censored ? '≥' : ''}{k.age_days.toFixed(1)} d</td>
                    <td class="num">{formatCount(k.requests)}</td>
                    <td class="num nowrap">{formatBytes(k.bytes)}</td>
                    <td class="num nowrap" title={k.ips.join(', ')}>{k.ip_count} / {k.networks} nets</td>
                    <td class="small"><span class="mono">{k.top_endpoint}</span> <span class="muted">{formatPercent(k.top_endpoint_share)}</span></td>
                    <td class="small">{k.risk_factors?.join(' · ') || '–'}</td>
                    <td><a class="btn btn-small" href={investigationHref(['key:' + k.api_key_id], since)}>Investigate</a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      )}
    </>
  );
}
