// Exclusions: filters that keep benign traffic out of the rules. The list
// (current, to review, all) with who made each, why and until when; a new
// exclusion is dry-run over history before it applies (streamed progress,
// what it would have suppressed, anything malicious it would hide as a
// warning), created in shadow, then activated; suggestions prefill the
// form; silences mute notifications without changing what rules compute.
// Viewers read and dry-run; analysts create, activate and delete.
import { useEffect, useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { Badge, Button, Card, Dialog, Empty, ErrorBox, Field, KV, Spinner, Tabs } from '../../components/ui';
import { useCan, useFilters, useLoad, useTitle, useToast } from '../../hooks';
import {
  conditionKinds, conditionsText, emptyForm, expiryChoices, expiryText, formProblems, fromExclusion, listQuery, listViews, scopeText,
  splitMatchers, statusInfo, toExclusion, type ExclusionForm,
} from '../../lib/exclusions';
import { formatCount, formatRelative, formatTime } from '../../lib/format';
import type { ConditionKind, ExclusionDetail, ExclusionInfo, RuleInfo, Silence, Suggestion, SuggestionList } from '../../lib/types';
import { navigate } from '../../router';
import { DryRunView, useDryRun } from './DryRun';

const windows = ['24h', '7d', '14d', '30d'];

const schema = {
  view: { kind: 'enum', values: listViews, default: 'current' },
  since: { kind: 'enum', values: windows, default: '7d' },
  suggest: { kind: 'bool' },
} as const;

export function ExclusionsPage({ id }: { id?: string }) {
  useTitle(id ? 'Exclusion ' + id : 'Exclusions');
  return id ? <ExclusionView id={id} /> : <ExclusionList />;
}

function StatusBadgeX({ status }: { status: string }) {
  const s = statusInfo(status);
  return <Badge kind={s.kind} title={s.title}>{s.label}</Badge>;
}

function ExclusionList() {
  const canAct = useCan('analyst');
  const [f, setF] = useFilters(schema);
  const q = listQuery(f.view);
  const list = useLoad(q + '#list', (s) => api.get<{ exclusions: ExclusionInfo[] }>('/exclusions' + q, s));
  const [form, setForm] = useState<ExclusionForm | null>(null);
  const open = (x: ExclusionForm) => {
    setForm(x);
    requestAnimationFrame(() => document.getElementById('new-exclusion')?.scrollIntoView({ block: 'start' }));
  };
  const rows = list.data?.exclusions ?? [];
  return (
    <div class="page page-wide">
      <div class="page-head">
        <h1>Exclusions</h1>
        <div class="page-actions">{canAct && !form && <Button kind="primary" onClick={() => open(emptyForm())}>New exclusion</Button>}</div>
      </div>
      <p class="small muted lead">An exclusion keeps matching requests out of the rules it covers, before they count. Dry-run it over history first: it shows what it would have suppressed, and warns when that includes malicious or confirmed activity. Silences (below) mute notifications instead.</p>
      <div class="stack">
      {form && canAct && <NewExclusion initial={form} since={f.since} onSince={(since) => setF({ since })} onClose={() => setForm(null)} />}
      <div class="toolbar">
        <Tabs label="Exclusions shown" value={f.view as (typeof listViews)[number]} onChange={(v) => setF({ view: v })}
          tabs={[['current', 'Active and pending'], ['review', 'Expired or to review'], ['all', 'All']]} />
      </div>
      <ErrorBox error={list.error} retry={list.reload} />
      {!list.data ? <Spinner /> : !rows.length ? (
        <Card><Empty>{f.view === 'current' ? 'No exclusion applies: every request reaches the rules.' : 'None.'}</Empty></Card>
      ) : (
        <Card>
          <table class="table" aria-label="Exclusions">
            <thead><tr><th>Exclusion</th><th>Status</th><th>Matches</th><th>Rules</th><th>Why</th><th>By</th><th>Expires</th><th class="num">Hits</th></tr></thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} data-id={e.id}>
                  <td><a class="mono" href={`/exclusions/${encodeURIComponent(e.id)}`}>{e.id}</a></td>
                  <td><span class="chips"><StatusBadgeX status={e.status} />{e.force_reason && <Badge kind="high" title={'Forced: ' + e.force_reason}>forced</Badge>}</span></td>
                  <td class="small mono wrap-any">{conditionsText(e.conditions, e.match)}</td>
                  <td class="small">{scopeText(e.scope)}</td>
                  <td class="small">{e.reason}</td>
                  <td class="small">{e.created_by || '–'}<div class="muted">{e.created_at ? formatRelative(e.created_at) : ''}</div></td>
                  <td class="small">{expiryText(e.expires_at)}</td>
                  <td class="num" title={e.last_hit ? 'last ' + formatTime(e.last_hit) : ''}>{formatCount(e.hit_count)}{e.shadow_suppressions > 0 && <div class="small muted">{e.shadow_suppressions} would-be suppressions</div>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      <Suggestions enabled={f.suggest} onEnable={() => setF({ suggest: true })} since={f.since} canAct={canAct} onUse={(s) => open(fromExclusion(s.exclusion))} />
      <Silences />
      </div>
    </div>
  );
}

function NewExclusion({ initial, since, onSince, onClose }: { initial: ExclusionForm; since: string; onSince: (s: string) => void; onClose: () => void }) {
  const toast = useToast();
  const [form, setForm] = useState<ExclusionForm>(initial);
  useEffect(() => setForm(initial), [initial]);
  const rules = useLoad('rules', (s) => api.get<{ rules: RuleInfo[] }>('/rules', s));
  const dry = useDryRun();
  const [forceReason, setForceReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [tried, setTried] = useState(false);
  const [forceAsked, setForceAsked] = useState(false);
  const set = (patch: Partial<ExclusionForm>) => setForm((x) => ({ ...x, ...patch }));
  const setCond = (i: number, patch: Partial<{ kind: ConditionKind; value: string }>) => set({ conditions: form.conditions.map((c, j) => (j === i ? { ...c, ...patch } : c)) });
  // A dry run answers for what it ran: a change of what the exclusion matches or covers drops it.
  const draftKey = JSON.stringify([form.conditions, form.match, form.scope, form.ruleIds]);
  useEffect(() => dry.reset(), [draftKey]);
  const problems = formProblems(form);
  const draftProblems = formProblems(form, { draft: true });
  const flagged = (dry.state.result?.suppressed_true_positives?.length ?? 0) > 0;
  // Applying it now over flagged activity takes a reason: flagged by the draft's dry run, or by the server's own check.
  const needForce = form.mode === 'active' && (flagged || forceAsked);

  const create = async (e: Event) => {
    e.preventDefault();
    setTried(true);
    if (problems.length) return;
    if (needForce && !forceReason.trim()) {
      setError('The dry run flagged malicious or confirmed activity: say why it may be suppressed, or create it in shadow.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const d = await api.post<ExclusionDetail>('/exclusions', {
        exclusion: toExclusion(form), since, force: needForce || undefined, force_reason: needForce ? forceReason.trim() : undefined,
      });
      toast(`Exclusion ${d.id} created (${statusInfo(d.status).label})`);
      onClose();
      navigate(`/exclusions/${encodeURIComponent(d.id)}`);
    } catch (err) {
      const msg = errorMessage(err);
      if (/force_reason/.test(msg)) setForceAsked(true);
      setError(msg);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="New exclusion" id="new-exclusion" actions={<Button kind="ghost" onClick={onClose} aria-label="Close the new exclusion">✕</Button>}>
      <form onSubmit={create} aria-label="New exclusion">
        <fieldset class="conds">
          <legend>Conditions</legend>
          {form.conditions.map((c, i) => (
            <div class="cond-row" key={i}>
              <select aria-label={`Condition ${i + 1} kind`} value={c.kind} onChange={(e) => setCond(i, { kind: (e.target as HTMLSelectElement).value as ConditionKind })}>
                {conditionKinds.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
              </select>
              <input aria-label={`Condition ${i + 1} value`} class="mono grow" value={c.value} placeholder={conditionKinds.find((k) => k.kind === c.kind)?.placeholder}
                onInput={(e) => setCond(i, { value: (e.target as HTMLInputElement).value })} />
              {form.conditions.length > 1 && <Button kind="small" type="button" aria-label={`Remove condition ${i + 1}`} onClick={() => set({ conditions: form.conditions.filter((_, j) => j !== i) })}>Remove</Button>}
            </div>
          ))}
          <div class="row-between">
            <Button kind="small" type="button" onClick={() => set({ conditions: [...form.conditions, { kind: 'path_glob', value: '' }] })} disabled={form.conditions.length >= 20}>Add condition</Button>
            {form.conditions.length > 1 && (
              <label class="check">Match
                <select aria-label="Match" value={form.match} onChange={(e) => set({ match: (e.target as HTMLSelectElement).value as 'all' | 'any' })}>
                  <option value="all">all conditions</option><option value="any">any condition</option>
                </select>
              </label>
            )}
          </div>
        </fieldset>
        <fieldset class="conds">
          <legend>Applies to</legend>
          <div class="seg" role="radiogroup" aria-label="Applies to">
            {([['existing', 'Rules that exist now'], ['any', 'Every rule, later ones too'], ['rules', 'Chosen rules']] as const).map(([k, l]) => (
              <button key={k} type="button" role="radio" aria-checked={form.scope === k} class={'seg-btn' + (form.scope === k ? ' seg-on' : '')} onClick={() => set({ scope: k })}>{l}</button>
            ))}
          </div>
          {form.scope === 'rules' && (
            <div class="rule-picks" role="group" aria-label="Rules">
              {!rules.data ? <Spinner /> : rules.data.rules.map((r) => (
                <label key={r.id} class="check rule-pick"><input type="checkbox" checked={form.ruleIds.includes(r.id)}
                  onChange={() => set({ ruleIds: form.ruleIds.includes(r.id) ? form.ruleIds.filter((x) => x !== r.id) : [...form.ruleIds, r.id] })} />
                  <span>{r.name} <span class="muted small mono">{r.id}</span></span></label>
              ))}
            </div>
          )}
        </fieldset>
        <div class="form-grid">
          <Field label="Reason (required)" hint="Why this traffic is benign; shown to whoever reviews it." class="span-2">
            <input name="reason" value={form.reason} onInput={(e) => set({ reason: (e.target as HTMLInputElement).value })} placeholder="e.g. uptime checker of the platform team" />
          </Field>
          <Field label="Expires">
            <select value={form.expires} onChange={(e) => set({ expires: (e.target as HTMLSelectElement).value as ExclusionForm['expires'] })}>
              {expiryChoices.map((x) => <option key={x} value={x}>{x === 'never' ? 'never (explicitly)' : x === 'custom' ? 'on a date…' : 'in ' + x}</option>)}
            </select>
          </Field>
          {form.expires === 'custom' && (
            <Field label="Expiry" hint="a date (2026-12-31), an RFC 3339 time or a duration (45d)">
              <input class="mono" value={form.expiresCustom} onInput={(e) => set({ expiresCustom: (e.target as HTMLInputElement).value })} />
            </Field>
          )}
          <Field label="Mode">
            <select value={form.mode} onChange={(e) => set({ mode: (e.target as HTMLSelectElement).value as 'shadow' | 'active' })}>
              <option value="shadow">shadow first (pending: records what it would suppress)</option>
              <option value="active">active now</option>
            </select>
          </Field>
          <Field label="Id (optional)" hint="generated when left empty">
            <input name="id" class="mono" value={form.id} onInput={(e) => set({ id: (e.target as HTMLInputElement).value })} placeholder="exc-uptime-checker" />
          </Field>
        </div>
        {tried && problems.length > 0 && <div class="note small" role="alert">{problems.map((p) => <div key={p}>{p}</div>)}</div>}
        {needForce && (
          <Field label="Override reason (required to apply it now)" hint="The dry run flagged malicious or confirmed activity. Or create it in shadow.">
            <input value={forceReason} onInput={(e) => setForceReason((e.target as HTMLInputElement).value)} />
          </Field>
        )}
        <ErrorBox error={error} />
        <div class="row-between">
          <span class="inline-form">
            <Field label="Dry-run window">
              <select value={since} onChange={(e) => onSince((e.target as HTMLSelectElement).value)}>{windows.map((w) => <option key={w} value={w}>last {w}</option>)}</select>
            </Field>
            <Button type="button" busy={dry.state.status === 'running'} disabled={draftProblems.length > 0}
              title={draftProblems.join(' ')} onClick={() => dry.run({ exclusion: toExclusion(form, { draft: true }), since })}>Dry run</Button>
          </span>
          <span class="page-actions">
            <Button type="button" onClick={onClose}>Cancel</Button>
            <Button kind="primary" type="submit" busy={busy}>{form.mode === 'shadow' ? 'Create in shadow' : 'Create and apply'}</Button>
          </span>
        </div>
      </form>
      <DryRunView state={dry.state} onCancel={dry.cancel} />
    </Card>
  );
}

function ExclusionView({ id }: { id: string }) {
  const canAct = useCan('analyst');
  const toast = useToast();
  const d = useLoad(id, (s) => api.get<ExclusionDetail>(`/exclusions/${encodeURIComponent(id)}`, s));
  const dry = useDryRun();
  const [since, setSince] = useState('7d');
  const [forceReason, setForceReason] = useState('');
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [forceAsked, setForceAsked] = useState(false);
  const e = d.data;
  if (d.error) return <div class="page"><a href="/exclusions" class="small">← Exclusions</a><ErrorBox error={d.error} retry={d.reload} /></div>;
  if (!e) return <div class="page"><Spinner /></div>;
  const st = statusInfo(e.status);
  const result = dry.state.result;
  // Flagged by the dry run, or by the server's own true-positive check at activation.
  const flagged = (result?.suppressed_true_positives?.length ?? 0) > 0 || forceAsked;
  const canActivate = canAct && (e.status === 'shadow' || e.status === 'review');

  const activate = async () => {
    if (flagged && !forceReason.trim()) {
      setError('Say why the flagged activity may be suppressed.');
      return;
    }
    setBusy('activate');
    setError('');
    try {
      const res = await api.post<ExclusionDetail>(`/exclusions/${encodeURIComponent(id)}/activate`, { since, force: flagged || undefined, force_reason: flagged ? forceReason.trim() : undefined });
      d.setData(res);
      toast(`Exclusion ${id} is active`);
    } catch (err) {
      const msg = errorMessage(err);
      if (/force_reason/.test(msg)) setForceAsked(true);
      setError(msg);
    } finally {
      setBusy('');
    }
  };
  const remove = async () => {
    setBusy('delete');
    try {
      await api.del(`/exclusions/${encodeURIComponent(id)}`);
      toast(`Exclusion ${id} deleted`);
      navigate('/exclusions');
    } catch (err) {
      setError(errorMessage(err));
      setBusy('');
      setConfirmDelete(false);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <a href="/exclusions" class="small">← Exclusions</a>
          <h1 class="mono">{e.id}</h1>
          <div class="chips"><StatusBadgeX status={e.status} /><Badge kind="muted">mode {e.mode}</Badge>{e.force_reason && <Badge kind="high">forced</Badge>}</div>
        </div>
        <div class="page-actions">{canAct && <Button kind="danger" onClick={() => setConfirmDelete(true)}>Delete…</Button>}</div>
      </div>
      <div class="grid-2">
        <Card title="Definition" class="span-2">
          <KV rows={[
            ['Matches', <span class="mono">{conditionsText(e.conditions, e.match)}</span>],
            ['Rules', scopeText(e.scope)],
            ['Reason', e.reason],
            ['Created', `${e.created_by || '–'}, ${formatTime(e.created_at)}`],
            ...(e.updated_by && Math.abs(Date.parse(e.updated_at ?? '') - Date.parse(e.created_at ?? '')) > 1000 ? [['Updated', `${e.updated_by}, ${formatTime(e.updated_at)}`] as [string, string]] : []),
            ['Expires', expiryText(e.expires_at)],
            ...(e.mode === 'shadow' ? [['Shadow until', e.shadow_until ? formatTime(e.shadow_until) : 'it is activated or expires'] as [string, string]] : []),
            ['Hits', `${formatCount(e.hit_count)} requests matched${e.last_hit ? ', last ' + formatTime(e.last_hit) : ''}`],
            ...(e.force_reason ? [['Forced because', e.force_reason] as [string, string]] : []),
          ]} />
          <p class="small muted">{st.title}.</p>
        </Card>
        <Card title="Dry run over history" class="span-2" actions={
          <span class="inline-form">
            <select aria-label="Dry-run window" value={since} onChange={(ev) => setSince((ev.target as HTMLSelectElement).value)}>{windows.map((w) => <option key={w} value={w}>last {w}</option>)}</select>
            <Button kind="primary" busy={dry.state.status === 'running'} onClick={() => dry.run({ id: e.id, since })}>Dry run</Button>
          </span>
        }>
          {dry.state.status === 'idle' && <p class="muted small">Replays the rules it covers over the window, with and without it: the alerts it would have suppressed, the requests it hides, and any malicious or confirmed activity among them.</p>}
          <DryRunView state={dry.state} onCancel={dry.cancel} />
          {canActivate && (
            <div class="activate">
              {dry.state.status !== 'done' ? (
                <p class="small muted">Run a dry run to activate it: activation applies it to the rules.</p>
              ) : (
                <>
                  {flagged && (
                    <Field label="Override reason (required)" hint="Kept with the exclusion and in the audit log.">
                      <input value={forceReason} onInput={(ev) => setForceReason((ev.target as HTMLInputElement).value)} />
                    </Field>
                  )}
                  <Button kind={flagged ? 'danger' : 'primary'} busy={busy === 'activate'} onClick={activate}>{flagged ? 'Activate anyway' : 'Activate'}</Button>
                </>
              )}
            </div>
          )}
          <ErrorBox error={error} />
        </Card>
        {e.dry_run && (
          <Card title="True-positive check at activation" class="span-2">
            <p class="small">{e.dry_run.suppressed_true_positives?.length ? `${e.dry_run.suppressed_true_positives.length} flagged suppression(s), applied with the reason above.` : 'No notification triaged as a true positive is suppressed.'}</p>
          </Card>
        )}
        <Card title={`Shadow suppressions (${e.suppressed?.length ?? 0})`} class="span-2">
          {!e.suppressed?.length ? <p class="muted small">None recorded{e.mode === 'shadow' ? ' yet: alerts that start firing while it shadows are checked' : ''}.</p> : (
            <table class="table table-compact" aria-label="Shadow suppressions">
              <thead><tr><th>Rule</th><th>Alert</th><th>Started</th><th>Checked</th></tr></thead>
              <tbody>{e.suppressed.map((s, i) => (
                <tr key={s.fingerprint + i}><td class="mono small">{s.rule_id}</td>
                  <td class="mono small">{Object.entries(s.labels ?? {}).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(' ')}</td>
                  <td class="small">{formatTime(s.starts_at)}</td><td class="small">{formatTime(s.at)}</td></tr>
              ))}</tbody>
            </table>
          )}
        </Card>
      </div>
      <Dialog open={confirmDelete} title={`Delete ${e.id}`} onClose={() => setConfirmDelete(false)}>
        <p>The rules will see its traffic again from their next evaluation. The deletion is kept in the audit log.</p>
        <div class="dialog-actions"><Button onClick={() => setConfirmDelete(false)}>Cancel</Button><Button kind="danger" busy={busy === 'delete'} onClick={remove}>Delete</Button></div>
      </Dialog>
    </div>
  );
}

function Suggestions({ enabled, onEnable, since, canAct, onUse }: { enabled: boolean; onEnable: () => void; since: string; canAct: boolean; onUse: (s: Suggestion) => void }) {
  const q = `?since=${encodeURIComponent(since)}`;
  const res = useLoad(enabled ? q : null, (s) => api.get<SuggestionList>('/exclusions/suggestions' + q, s));
  return (
    <Card title="Suggestions" actions={enabled ? <Button kind="small" busy={res.loading} onClick={res.reload}>Refresh</Button> : undefined}>
      {!enabled ? (
        <div class="row-between">
          <span class="small muted">Proposes the narrowest exclusion for the callers behind false positives and for stable benign callers (health checkers, monitoring, scheduled partners), each checked by a dry run over the last {since}.</span>
          <Button onClick={onEnable}>Find suggestions</Button>
        </div>
      ) : (
        <>
          <ErrorBox error={res.error} retry={res.reload} />
          {!res.data || res.loading ? <Spinner label="Dry-running candidates" /> : !res.data.suggestions.length ? <Empty>No suggestion: no false positive nor stable benign caller behind the notifications of the window.</Empty> : (
            <ul class="suggestions" aria-label="Suggested exclusions">
              {res.data.suggestions.map((s, i) => (
                <li key={i} class="suggestion">
                  <div class="row-between">
                    <span><Badge kind={s.source === 'false_positive' ? 'low' : 'ok'}>{s.source.replace('_', ' ')}</Badge>{s.caller.kind && <Badge kind="muted">{s.caller.kind.replace('_', ' ')}</Badge>} <span class="mono small">{conditionsText(s.exclusion.conditions, s.exclusion.match)}</span></span>
                    {canAct && <Button kind="small" onClick={() => onUse(s)}>Use this</Button>}
                  </div>
                  <p class="small">{s.rationale}</p>
                  <p class="small muted">Removes {s.removes} notification{s.removes === 1 ? '' : 's'} · {scopeText(s.exclusion.scope)} · {formatCount(s.caller.requests)} requests on {s.caller.active_days} of {s.caller.window_days} days{s.dry_run?.suppressed_true_positives?.length ? ' · flags activity' : ''}</p>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Card>
  );
}

function Silences() {
  const canAct = useCan('analyst');
  const toast = useToast();
  const [all, setAll] = useState(false);
  const res = useLoad(all ? 'all' : 'live', (s) => api.get<{ silences: Silence[] }>('/silences' + (all ? '?all=true' : ''), s));
  const [matchers, setMatchers] = useState('');
  const [duration, setDuration] = useState('2h');
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.post('/silences', { matchers: splitMatchers(matchers), duration, comment: comment.trim() });
      setMatchers('');
      setComment('');
      res.reload();
      toast('Silence created');
    } catch (err) {
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  const del = async (id: string) => {
    try {
      await api.del(`/silences/${encodeURIComponent(id)}`);
      res.reload();
      toast(`Silence ${id} deleted`);
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  const list = res.data?.silences ?? [];
  return (
    <Card title="Silences" actions={<label class="check"><input type="checkbox" checked={all} onChange={() => setAll(!all)} />include ended</label>}>
      <p class="small muted">A silence mutes notifications whose labels match, for a while (maintenance, a known incident); they are still recorded for triage, and rules compute as before.</p>
      <ErrorBox error={res.error} retry={res.reload} />
      {!res.data ? <Spinner /> : !list.length ? <p class="muted small">No silence{all ? '' : ' in force or to come'}.</p> : (
        <table class="table table-compact" aria-label="Silences">
          <thead><tr><th>Matchers</th><th>Comment</th><th>By</th><th>From</th><th>Until</th><th /></tr></thead>
          <tbody>{list.map((s) => (
            <tr key={s.id}>
              <td class="mono small">{s.matchers.join(', ')}</td>
              <td class="small">{s.comment}</td>
              <td class="small">{s.created_by || '–'}</td>
              <td class="small">{formatTime(s.starts_at)}</td>
              <td class="small">{formatTime(s.ends_at)} {s.active ? <Badge kind="med">muting</Badge> : Date.parse(s.ends_at) < Date.now() ? <Badge kind="muted">ended</Badge> : <Badge kind="low">scheduled</Badge>}</td>
              <td>{canAct && <Button kind="small" onClick={() => del(s.id)} aria-label={`Delete silence ${s.id}`}>Delete</Button>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      {canAct && (
        <form class="inline-form" onSubmit={add} aria-label="New silence">
          <Field label="Matchers (Alertmanager syntax, comma-separated)" class="grow">
            <input class="mono" value={matchers} placeholder={'alertname="bulk_reads_per_ip", peer_ip=~"10\\..*"'} onInput={(e) => setMatchers((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="For"><select value={duration} onChange={(e) => setDuration((e.target as HTMLSelectElement).value)}>{['1h', '2h', '8h', '24h', '7d'].map((x) => <option key={x} value={x}>{x}</option>)}</select></Field>
          <Field label="Comment" class="grow"><input value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} /></Field>
          <Button kind="small" type="submit" busy={busy} disabled={!matchers.trim() || !comment.trim()}>Silence</Button>
        </form>
      )}
    </Card>
  );
}
