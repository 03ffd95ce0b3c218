// The triage queue: notifications grouped by rule or incident, the status
// workflow (open → investigating → resolved / false positive), bulk
// actions, assignee and notes, keyboard shortcuts, and live updates by
// polling.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Card, Dialog, Empty, ErrorBox, Field, KV, SevBadge, Spinner, StatusBadge } from '../../components/ui';
import { useCan, useFilters, useLoad, useNow, usePoll, useSession, useTitle, useToast } from '../../hooks';
import { formatCount, formatRelative, formatTime } from '../../lib/format';
import { apiQuery } from '../../lib/query';
import { groupNotifications, nextStatuses, severities, shortcutAction, shortcuts, statusLabel, triageStatuses, type GroupBy } from '../../lib/triage';
import type { Notification, NotificationDetail, NotificationPage } from '../../lib/types';

const schema = {
  status: { kind: 'list', default: ['open', 'investigating'] },
  severity: { kind: 'list' },
  rule: { kind: 'string' },
  ip: { kind: 'string' },
  endpoint: { kind: 'string' },
  assignee: { kind: 'string' },
  incident: { kind: 'string' },
  mode: { kind: 'enum', values: ['active', 'shadow', 'any'], default: 'active' },
  group: { kind: 'enum', values: ['rule', 'incident', 'none'], default: 'rule' },
  id: { kind: 'number', min: 1 },
} as const;

const POLL_MS = 5000;

interface Pending {
  ids: number[];
  status: string;
}

export function NotificationsPage() {
  useTitle('Notifications');
  const { me } = useSession();
  const canAct = useCan('analyst');
  const toast = useToast();
  const [f, setF] = useFilters(schema);
  const now = useNow(1000);
  const query = apiQuery({
    status: f.status, severity: f.severity, rule: f.rule, ip: f.ip, endpoint: f.endpoint, assignee: f.assignee,
    incident: f.incident, mode: f.mode === 'active' ? '' : f.mode, limit: 500,
  });
  const page = useLoad(query, (signal) => api.get<NotificationPage>('/alerts' + query, signal));
  const [updatedAt, setUpdatedAt] = useState(0);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const known = useRef<Set<number> | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [cursor, setCursor] = useState<number | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [help, setHelp] = useState(false);
  const [noteFor, setNoteFor] = useState<number[] | null>(null);
  const search = useRef<HTMLInputElement>(null);

  // Live updates: poll, and mark what arrived since the last look.
  usePoll(page.reload, POLL_MS);
  useEffect(() => {
    if (!page.data) return;
    setUpdatedAt(Date.now());
    const ids = new Set(page.data.alerts.map((n) => n.id));
    if (known.current) {
      const arrived = [...ids].filter((id) => !known.current!.has(id));
      if (arrived.length) setFresh((s) => new Set([...s, ...arrived]));
    }
    known.current = ids;
    setSelected((s) => new Set([...s].filter((id) => ids.has(id))));
  }, [page.data]);
  useEffect(() => { known.current = null; setFresh(new Set()); }, [query]);

  const groups = useMemo(() => groupNotifications(page.data?.alerts ?? [], f.group as GroupBy), [page.data, f.group]);
  const flat = useMemo(() => groups.flatMap((g) => g.items), [groups]);
  const cursorIndex = flat.findIndex((n) => n.id === cursor);

  const change = async (ids: number[], body: Record<string, unknown>, done: string) => {
    if (!ids.length) return;
    try {
      await api.patch<NotificationPage>('/alerts', { ids, ...body });
      toast(done);
      page.reload();
      if (f.id && ids.includes(f.id)) detailReload.current?.();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  };

  const setStatus = (ids: number[], status: string, reason = '') => {
    if (!canAct || !ids.length) return;
    if (status === 'false_positive' && !reason) {
      setPending({ ids, status });
      return;
    }
    void change(ids, { status, reason: reason || undefined }, `${ids.length === 1 ? 'Notification #' + ids[0] : ids.length + ' notifications'} → ${statusLabel(status)}`);
  };
  const targets = (): number[] => (selected.size ? [...selected] : cursor != null ? [cursor] : []);
  const detailReload = useRef<(() => void) | null>(null);

  // Keyboard shortcuts.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (document.querySelector('dialog[open]')) return;
      const a = shortcutAction(e);
      if (!a) return;
      e.preventDefault();
      switch (a.kind) {
        case 'move': {
          if (!flat.length) return;
          const i = cursorIndex < 0 ? (a.by > 0 ? 0 : flat.length - 1) : Math.min(flat.length - 1, Math.max(0, cursorIndex + a.by));
          setCursor(flat[i].id);
          document.getElementById('ntf-' + flat[i].id)?.scrollIntoView({ block: 'nearest' });
          return;
        }
        case 'toggle':
          if (cursor != null) setSelected((s) => toggle(s, cursor));
          return;
        case 'open':
          if (cursor != null) setF({ id: cursor });
          return;
        case 'status':
          setStatus(targets(), a.status);
          return;
        case 'assign-me':
          if (canAct) void change(targets(), { assignee: me.user || me.name }, 'Assigned to you');
          return;
        case 'note':
          if (canAct && targets().length) setNoteFor(targets());
          return;
        case 'select-all':
          setSelected(new Set(flat.map((n) => n.id)));
          return;
        case 'clear':
          setSelected(new Set());
          return;
        case 'search':
          search.current?.focus();
          return;
        case 'help':
          setHelp(true);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  const total = page.data?.total ?? 0;
  const shownCount = page.data?.alerts.length ?? 0;

  return (
    <div class="page page-wide">
      <div class="page-head">
        <h1>Notifications</h1>
        <div class="live" aria-live="off">
          <span class={'live-dot' + (page.loading ? ' live-busy' : '')} aria-hidden="true" />
          live · updated {updatedAt ? formatRelative(updatedAt, now) : '…'}
          <button class="btn btn-ghost btn-small" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts">?</button>
        </div>
      </div>
      <div class="toolbar" role="search" aria-label="Filter notifications">
        <fieldset class="checks">
          <legend>Status</legend>
          {triageStatuses.map((s) => (
            <label key={s}><input type="checkbox" checked={f.status.includes(s)} onChange={() => setF({ status: listToggle(f.status, s) })} />{statusLabel(s)}</label>
          ))}
        </fieldset>
        <fieldset class="checks">
          <legend>Severity</legend>
          {severities.map((s) => (
            <label key={s}><input type="checkbox" checked={f.severity.includes(s)} onChange={() => setF({ severity: listToggle(f.severity, s) })} />{s}</label>
          ))}
        </fieldset>
        <Field label="IP"><input ref={search} type="search" class="mono" placeholder="address" value={f.ip} onChange={(e) => setF({ ip: (e.target as HTMLInputElement).value.trim() })} /></Field>
        <Field label="Rule"><input type="search" placeholder="rule id" value={f.rule} onChange={(e) => setF({ rule: (e.target as HTMLInputElement).value.trim() })} /></Field>
        <Field label="Assignee"><input type="search" placeholder="name" value={f.assignee} onChange={(e) => setF({ assignee: (e.target as HTMLInputElement).value.trim() })} /></Field>
        <Field label="Mode">
          <select value={f.mode} onChange={(e) => setF({ mode: (e.target as HTMLSelectElement).value })}>
            <option value="active">active rules</option><option value="shadow">shadow rules</option><option value="any">both</option>
          </select>
        </Field>
        <Field label="Group by">
          <select value={f.group} onChange={(e) => setF({ group: (e.target as HTMLSelectElement).value })}>
            <option value="rule">rule</option><option value="incident">incident</option><option value="none">nothing</option>
          </select>
        </Field>
      </div>

      {canAct && (
        <div class={'bulkbar' + (selected.size ? ' bulkbar-on' : '')} role="toolbar" aria-label="Bulk actions">
          <span>{selected.size ? `${selected.size} selected` : 'Select notifications (x) to act on several'}</span>
          <Button kind="small" disabled={!selected.size} onClick={() => setStatus([...selected], 'investigating')}>Investigating</Button>
          <Button kind="small" disabled={!selected.size} onClick={() => setStatus([...selected], 'resolved')}>Resolve</Button>
          <Button kind="small" disabled={!selected.size} onClick={() => setStatus([...selected], 'false_positive')}>False positive</Button>
          <Button kind="small" disabled={!selected.size} onClick={() => change([...selected], { assignee: me.user || me.name }, 'Assigned to you')}>Assign to me</Button>
          <Button kind="small" disabled={!selected.size} onClick={() => setNoteFor([...selected])}>Note</Button>
          <Button kind="small" disabled={!selected.size} onClick={() => setSelected(new Set())}>Clear</Button>
        </div>
      )}

      <ErrorBox error={page.error} retry={page.reload} />
      <div class={'split' + (f.id ? ' with-panel' : '')}>
        <div class="queue" aria-label="Notification queue">
          {!page.data ? <Card><Spinner /></Card> : !flat.length ? (
            <Card><Empty>Nothing to triage with these filters.{f.status.length < 4 && <> <button class="btn btn-small" onClick={() => setF({ status: [...triageStatuses] })}>Show every status</button></>}</Empty></Card>
          ) : groups.map((g) => (
            <section key={g.key} class="group" aria-label={g.title}>
              <header class="group-head">
                <input type="checkbox" aria-label={`Select the ${g.items.length} notifications of ${g.title}`} disabled={!canAct}
                  checked={g.items.every((n) => selected.has(n.id))}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setSelected((s) => { const n = new Set(s); for (const x of g.items) on ? n.add(x.id) : n.delete(x.id); return n; });
                  }} />
                <SevBadge severity={g.worst} />
                <h2>{g.title}</h2>
                <span class="muted small">{g.items.length}</span>
                {f.group === 'incident' && g.key.startsWith('incident:') && g.key !== 'incident:none' && <a class="small" href={`/incidents/${g.key.slice(9)}`}>incident →</a>}
                {f.group === 'rule' && <a class="small" href={`/rules/${encodeURIComponent(g.key.slice(5))}`}>rule →</a>}
              </header>
              <ul class="ntf-list">
                {g.items.map((n) => (
                  <NotificationRow key={n.id} n={n} selected={selected.has(n.id)} cursor={cursor === n.id} fresh={fresh.has(n.id)} open={f.id === n.id}
                    canAct={canAct} now={now}
                    onToggle={() => setSelected((s) => toggle(s, n.id))}
                    onOpen={() => { setCursor(n.id); setF({ id: n.id }); }} />
                ))}
              </ul>
            </section>
          ))}
          {page.data && <p class="muted small">{formatCount(shownCount)} shown of {formatCount(total)}{total > shownCount && ' — narrow the filters to see the rest'}.</p>}
        </div>
        {f.id && <NotificationPanel id={f.id} canAct={canAct} onClose={() => setF({ id: null })} onStatus={(s) => setStatus([f.id!], s)}
          onChange={(body, done) => change([f.id!], body, done)} registerReload={(r) => (detailReload.current = r)} />}
      </div>

      <ReasonDialog pending={pending} onClose={() => setPending(null)} onSubmit={(reason) => { const p = pending!; setPending(null); setStatus(p.ids, p.status, reason); }} />
      <NoteDialog ids={noteFor} onClose={() => setNoteFor(null)} onSubmit={(note) => { const ids = noteFor!; setNoteFor(null); void change(ids, { note }, 'Note added'); }} />
      <Dialog open={help} title="Keyboard shortcuts" onClose={() => setHelp(false)}>
        <table class="table"><tbody>{shortcuts.map(([k, what]) => <tr key={k}><td><kbd>{k}</kbd></td><td>{what}</td></tr>)}</tbody></table>
      </Dialog>
    </div>
  );
}

function NotificationRow(p: { n: Notification; selected: boolean; cursor: boolean; fresh: boolean; open: boolean; canAct: boolean; now: number; onToggle: () => void; onOpen: () => void }) {
  const n = p.n;
  const summary = n.annotations?.summary || n.rule_name || n.rule_id;
  return (
    <li id={'ntf-' + n.id} class={'ntf' + (p.cursor ? ' ntf-cursor' : '') + (p.selected ? ' ntf-sel' : '') + (p.fresh ? ' ntf-fresh' : '') + (p.open ? ' ntf-open' : '')}
      data-id={n.id} data-status={n.status}>
      <input type="checkbox" checked={p.selected} onChange={p.onToggle} aria-label={`Select notification ${n.id}`} disabled={!p.canAct} />
      <SevBadge severity={n.severity} />
      <button class="ntf-main" onClick={p.onOpen} aria-label={`Open notification ${n.id}: ${summary}`}>
        <span class="ntf-summary">{summary}</span>
        <span class="ntf-meta">
          #{n.id} · {n.rule_id}{n.ip && <> · <span class="mono">{n.ip}</span></>}{n.endpoint && <> · <span class="mono">{n.endpoint}</span></>}
          {n.count > 1 && <> · ×{n.count}</>} · {formatRelative(n.last_seen, p.now)}
        </span>
      </button>
      {n.mode === 'shadow' && <Badge kind="muted">shadow rule</Badge>}
      {n.alert_state === 'resolved' && <Badge kind="muted" title="the alert cleared on its own">cleared</Badge>}
      {n.assignee && <span class="assignee" title="assignee">@{n.assignee}</span>}
      <StatusBadge status={n.status} />
    </li>
  );
}

function NotificationPanel(p: { id: number; canAct: boolean; onClose: () => void; onStatus: (s: string) => void; onChange: (body: Record<string, unknown>, done: string) => Promise<void>; registerReload: (r: () => void) => void }) {
  const { me } = useSession();
  const d = useLoad(String(p.id), (signal) => api.get<NotificationDetail>(`/alerts/${p.id}`, signal));
  p.registerReload(d.reload);
  usePoll(d.reload, POLL_MS);
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState<string | null>(null);
  const n = d.data;
  return (
    <aside class="panel" aria-label={`Notification ${p.id}`}>
      <header class="panel-head">
        <div>
          <div class="muted small">Notification #{p.id}</div>
          <h2>{n ? n.annotations?.summary || n.rule_name : '…'}</h2>
        </div>
        <button class="btn btn-ghost" aria-label="Close the notification" onClick={p.onClose}>✕</button>
      </header>
      <ErrorBox error={d.error} retry={d.reload} />
      {!n ? <Spinner /> : (
        <>
          <div class="panel-section">
            <div class="chips"><SevBadge severity={n.severity} /><StatusBadge status={n.status} /><Badge>{n.alert_state}</Badge>{n.mode === 'shadow' && <Badge kind="muted">shadow rule</Badge>}</div>
            {n.reason && <p class="small">Reason: {n.reason}</p>}
            {n.annotations?.description && <p>{n.annotations.description}</p>}
          </div>
          {p.canAct && (
            <div class="panel-section panel-actions" role="group" aria-label="Change status">
              {nextStatuses(n.status).map((s) => (
                <Button key={s} kind={s === 'false_positive' ? undefined : s === 'resolved' ? 'primary' : undefined} onClick={() => p.onStatus(s)}>
                  {s === 'open' ? 'Reopen' : s === 'investigating' ? 'Investigating' : s === 'resolved' ? 'Resolve' : 'False positive'}
                </Button>
              ))}
            </div>
          )}
          <div class="panel-section">
            <KV rows={[
              ['Rule', <a href={`/rules/${encodeURIComponent(n.rule_id)}`}>{n.rule_name || n.rule_id}</a>],
              ['IP', n.ip ? <span><a class="mono" href={`/ips?ip=${encodeURIComponent(n.ip)}`}>{n.ip}</a> · <a href={`/traces?ip=${encodeURIComponent(n.ip)}&since=7d`}>traces</a></span> : '–'],
              ['Endpoint', n.endpoint ? <a class="mono" href={`/map?q=${encodeURIComponent(n.endpoint.split(' ').pop() ?? '')}`}>{n.endpoint}</a> : '–'],
              ['API key', n.api_key_id ? <span class="mono">{n.api_key_id}</span> : '–'],
              ['Incident', n.incident_id ? <a href={`/incidents/${n.incident_id}`}>#{n.incident_id}</a> : '–'],
              ['Started', formatTime(n.starts_at)],
              ['First / last seen', `${formatTime(n.first_seen)} / ${formatTime(n.last_seen)}`],
              ['Deliveries', formatCount(n.count)],
              ['Assignee', n.assignee || '–'],
            ]} />
          </div>
          {p.canAct && (
            <div class="panel-section">
              <form class="inline-form" onSubmit={(e) => { e.preventDefault(); void p.onChange({ assignee: assignee ?? '' }, assignee ? `Assigned to ${assignee}` : 'Unassigned'); setAssignee(null); }}>
                <Field label="Assignee"><input value={assignee ?? n.assignee ?? ''} onInput={(e) => setAssignee((e.target as HTMLInputElement).value)} placeholder="nobody" /></Field>
                <Button kind="small" type="submit">Set</Button>
                <Button kind="small" type="button" onClick={() => p.onChange({ assignee: me.user || me.name }, 'Assigned to you')}>Me</Button>
              </form>
              <form class="inline-form" onSubmit={(e) => { e.preventDefault(); if (note.trim()) { void p.onChange({ note: note.trim() }, 'Note added'); setNote(''); } }}>
                <Field label="Note" class="grow"><textarea rows={2} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} placeholder="What you found, what you did" /></Field>
                <Button kind="small" type="submit" disabled={!note.trim()}>Add note</Button>
              </form>
            </div>
          )}
          <div class="panel-section">
            <h3>Labels</h3>
            <table class="table table-compact"><tbody>{Object.entries(n.labels ?? {}).map(([k, v]) => <tr key={k}><td class="muted">{k}</td><td class="mono">{v}</td></tr>)}</tbody></table>
          </div>
          <div class="panel-section">
            <h3>Audit trail</h3>
            {!n.audit?.length ? <p class="muted small">No change yet.</p> : (
              <ol class="timeline">
                {n.audit.map((e) => (
                  <li key={e.id}>
                    <span class="tl-time">{formatTime(e.at)}</span>
                    <span><b>{e.actor}</b> {e.kind}{(e.before || e.after) && <> {e.before && statusLabel(e.before)} → {e.after && statusLabel(e.after)}</>}{e.note && <>: <i>{e.note}</i></>}</span>
                  </li>
                ))}
              </ol>
            )}
          </div>
        </>
      )}
    </aside>
  );
}

function ReasonDialog(p: { pending: Pending | null; onClose: () => void; onSubmit: (reason: string) => void }) {
  const [reason, setReason] = useState('');
  return (
    <Dialog open={!!p.pending} title="Why is it a false positive?" onClose={p.onClose}>
      <form onSubmit={(e) => { e.preventDefault(); if (reason.trim()) { p.onSubmit(reason.trim()); setReason(''); } }}>
        <Field label="Reason" hint="Kept in the audit trail; helps tune the rule or write an exclusion.">
          <textarea rows={3} required value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <div class="dialog-actions"><Button type="button" onClick={p.onClose}>Cancel</Button><Button kind="primary" type="submit">Mark {p.pending?.ids.length ?? 0} false positive</Button></div>
      </form>
    </Dialog>
  );
}

function NoteDialog(p: { ids: number[] | null; onClose: () => void; onSubmit: (note: string) => void }) {
  const [note, setNote] = useState('');
  return (
    <Dialog open={!!p.ids} title={`Note on ${p.ids?.length ?? 0} notification(s)`} onClose={p.onClose}>
      <form onSubmit={(e) => { e.preventDefault(); if (note.trim()) { p.onSubmit(note.trim()); setNote(''); } }}>
        <Field label="Note"><textarea rows={3} required value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} /></Field>
        <div class="dialog-actions"><Button type="button" onClick={p.onClose}>Cancel</Button><Button kind="primary" type="submit">Add note</Button></div>
      </form>
    </Dialog>
  );
}

function toggle(s: Set<number>, id: number): Set<number> {
  const n = new Set(s);
  if (n.has(id)) n.delete(id);
  else n.add(id);
  return n;
}

function listToggle(list: string[], v: string): string[] {
  return list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
}
