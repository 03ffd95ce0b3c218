// Incidents: the notifications of one campaign, grouped. The list, and for
// one incident its timeline, members, scope, triage and a report export.
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Card, Chips, Empty, ErrorBox, Field, KV, SevBadge, Spinner, StatusBadge } from '../../components/ui';
import { useCan, useFilters, useLoad, useSession, useTitle, useToast } from '../../hooks';
import { formatDuration, formatRelative, formatTime } from '../../lib/format';
import { incidentInvestigationHref } from '../../lib/investigation';
import { apiQuery } from '../../lib/query';
import { incidentMarkdown } from '../../lib/report';
import { nextStatuses, statusLabel, triageStatuses } from '../../lib/triage';
import type { IncidentDetail, Incident } from '../../lib/types';

const schema = { status: { kind: 'list' } } as const;

export function IncidentsPage({ id }: { id?: string }) {
  useTitle(id ? `Incident #${id}` : 'Incidents');
  return id ? <IncidentView id={id} /> : <IncidentList />;
}

function IncidentList() {
  const [f, setF] = useFilters(schema);
  const q = apiQuery({ status: f.status, limit: 200 });
  const list = useLoad(q, (signal) => api.get<{ incidents: Incident[] }>('/incidents' + q, signal));
  return (
    <div class="page">
      <h1>Incidents</h1>
      <div class="toolbar">
        <fieldset class="checks">
          <legend>Status</legend>
          {triageStatuses.map((s) => (
            <label key={s}><input type="checkbox" checked={f.status.includes(s)} onChange={() => setF({ status: f.status.includes(s) ? f.status.filter((x) => x !== s) : [...f.status, s] })} />{statusLabel(s)}</label>
          ))}
        </fieldset>
      </div>
      <ErrorBox error={list.error} retry={list.reload} />
      {!list.data ? <Spinner /> : !list.data.incidents.length ? <Card><Empty>No incident. Notifications that share an IP, API key or endpoint within a day are grouped into one.</Empty></Card> : (
        <Card>
          <table class="table">
            <thead><tr><th>#</th><th>Incident</th><th>Severity</th><th>Status</th><th class="num">Notifications</th><th>Scope</th><th>Last seen</th></tr></thead>
            <tbody>
              {list.data.incidents.map((i) => (
                <tr key={i.id}>
                  <td>{i.id}</td>
                  <td><a href={`/incidents/${i.id}`}>{i.title}</a>{i.assignee && <span class="assignee"> @{i.assignee}</span>}</td>
                  <td><SevBadge severity={i.severity} /></td>
                  <td><StatusBadge status={i.status} /></td>
                  <td class="num">{i.notification_count}</td>
                  <td class="small">{[i.ips.length && `${i.ips.length} IPs`, i.endpoints.length && `${i.endpoints.length} endpoints`, i.api_key_ids.length && `${i.api_key_ids.length} keys`].filter(Boolean).join(' · ') || '–'}</td>
                  <td class="small">{formatRelative(i.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}

function IncidentView({ id }: { id: string }) {
  const { me } = useSession();
  const canAct = useCan('analyst');
  const toast = useToast();
  const d = useLoad(id, (signal) => api.get<IncidentDetail>(`/incidents/${encodeURIComponent(id)}`, signal));
  const [reason, setReason] = useState('');
  const [cascade, setCascade] = useState(true);
  const [note, setNote] = useState('');
  const inc = d.data;

  const patch = async (body: Record<string, unknown>, done: string) => {
    try {
      const res = await api.patch<IncidentDetail>(`/incidents/${encodeURIComponent(id)}`, body);
      d.setData(res);
      toast(done);
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  };

  const exportReport = () => {
    if (!inc) return;
    const blob = new Blob([incidentMarkdown(inc)], { type: 'text/markdown' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `incident-${inc.id}.md`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  if (d.error) return <div class="page"><ErrorBox error={d.error} retry={d.reload} /></div>;
  if (!inc) return <div class="page"><Spinner /></div>;
  const first = Date.parse(inc.first_seen);
  const last = Date.parse(inc.last_seen);
  const span = Math.max(1, last - first);
  return (
    <div class="page">
      <div class="page-head">
        <div>
          <a href="/incidents" class="small">← Incidents</a>
          <h1>#{inc.id} {inc.title}</h1>
          <div class="chips"><SevBadge severity={inc.severity} /><StatusBadge status={inc.status} />{inc.assignee && <Badge>@{inc.assignee}</Badge>}{inc.merged_into ? <Badge kind="muted">merged into #{inc.merged_into}</Badge> : null}</div>
        </div>
        <div class="page-actions">
          {(inc.ips.length > 0 || inc.api_key_ids.length > 0) && <a class="btn" href={incidentInvestigationHref(inc)} title="Verdict, findings and campaign of the incident's addresses and keys">Investigate</a>}
          <Button onClick={exportReport}>Export report (Markdown)</Button>
          <Button onClick={() => window.print()}>Print / PDF</Button>
        </div>
      </div>
      <div class="grid-2">
        <Card title="Scope">
          <KV rows={[
            ['First seen', formatTime(inc.first_seen)],
            ['Last seen', formatTime(inc.last_seen)],
            ['Duration', last > first ? formatDuration((last - first) * 1e6) : '–'],
            ['IPs', <span class="chips">{inc.ips.length ? inc.ips.map((ip) => <a key={ip} class="mono" href={`/ips?ip=${encodeURIComponent(ip)}`}>{ip}</a>) : <span class="muted">none</span>}</span>],
            ['Endpoints', <Chips items={inc.endpoints} />],
            ['API keys', <Chips items={inc.api_key_ids} />],
            ['Rules', <Chips items={inc.rule_ids} />],
          ]} />
        </Card>
        {canAct && (
          <Card title="Triage">
            <div class="panel-actions" role="group" aria-label="Change status">
              {nextStatuses(inc.status).map((s) => (
                <Button key={s} onClick={() => {
                  if (s === 'false_positive' && !reason.trim()) { toast('Give a reason for a false positive', 'error'); return; }
                  void patch({ status: s, reason: reason.trim() || undefined, cascade }, `Incident → ${statusLabel(s)}`);
                }}>{s === 'open' ? 'Reopen' : statusLabel(s)}</Button>
              ))}
            </div>
            <Field label="Reason"><input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} placeholder="needed for false positive" /></Field>
            <label class="check"><input type="checkbox" checked={cascade} onChange={() => setCascade(!cascade)} /> apply the status to its notifications too</label>
            <form class="inline-form" onSubmit={(e) => { e.preventDefault(); if (note.trim()) { void patch({ note: note.trim() }, 'Note added'); setNote(''); } }}>
              <Field label="Note" class="grow"><input value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} /></Field>
              <Button kind="small" type="submit">Add</Button>
              <Button kind="small" type="button" onClick={() => patch({ assignee: me.user || me.name }, 'Assigned to you')}>Assign to me</Button>
            </form>
          </Card>
        )}
        <Card title="Timeline" class="span-2">
          <svg class="inc-strip" viewBox="0 0 1000 40" role="img" aria-label={`Notifications from ${formatTime(inc.first_seen)} to ${formatTime(inc.last_seen)}`}>
            <line x1={10} x2={990} y1={20} y2={20} class="baseline" />
            {inc.notifications.map((n) => {
              const x = 10 + ((Date.parse(n.first_seen) - first) / span) * 980;
              return <circle key={n.id} cx={Number.isFinite(x) ? x : 10} cy={20} r={6} class={'strip-dot sev-' + n.severity}><title>{`#${n.id} ${n.annotations?.summary ?? n.rule_id} — ${formatTime(n.first_seen)}`}</title></circle>;
            })}
          </svg>
          {!inc.timeline.length ? <p class="muted small">No triage yet.</p> : (
            <ol class="timeline">
              {inc.timeline.map((e) => (
                <li key={e.id}><span class="tl-time">{formatTime(e.at)}</span><span><b>{e.actor}</b> {e.kind}{(e.before || e.after) && <> {e.before} → {e.after}</>}{e.notification_id ? <> (notification #{e.notification_id})</> : null}{e.note && <>: <i>{e.note}</i></>}</span></li>
              ))}
            </ol>
          )}
        </Card>
        <Card title={`Notifications (${inc.notifications.length})`} class="span-2">
          {!inc.notifications.length ? <Empty>None.</Empty> : (
            <table class="table">
              <thead><tr><th>#</th><th>Summary</th><th>Severity</th><th>Status</th><th>First seen</th></tr></thead>
              <tbody>
                {inc.notifications.map((n) => (
                  <tr key={n.id}>
                    <td>{n.id}</td>
                    <td><a href={`/notifications?id=${n.id}&status=open,investigating,resolved,false_positive&mode=any`}>{n.annotations?.summary || n.rule_name}</a></td>
                    <td><SevBadge severity={n.severity} /></td>
                    <td><StatusBadge status={n.status} /></td>
                    <td class="small">{formatTime(n.first_seen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </div>
  );
}
