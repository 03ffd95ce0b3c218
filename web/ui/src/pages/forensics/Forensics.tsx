// Forensics: a question in plain English becomes a typed query, then SQL;
// the page shows how it was understood, the SQL it ran, the rows and a
// timeline, and can turn the question into a rule with its backtest. The
// raw SQL tab runs guarded read-only SQL. The URL holds the question, so a
// finding can be shared.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorMessage } from '../../api';
import { BarChart } from '../../components/BarChart';
import { VirtualTable, type Column } from '../../components/VirtualTable';
import { Badge, Button, Card, Code, ErrorBox, Field, Spinner, Tabs } from '../../components/ui';
import { useCan, useFilters, useLoad, useTitle, useToast } from '../../hooks';
import { timelinePoints } from '../../lib/chart';
import { formatBytes, formatCount, formatDay, formatTime } from '../../lib/format';
import type { AskResult, AskRuleResult, QueryResult, Row } from '../../lib/types';
import { navigate } from '../../router';
import { BacktestView } from '../rules/Backtest';

const schema = {
  tab: { kind: 'enum', values: ['ask', 'sql'], default: 'ask' },
  q: { kind: 'string' },
  sql: { kind: 'string' },
} as const;

export function ForensicsPage() {
  useTitle('Forensics');
  const [f, setF] = useFilters(schema);
  return (
    <div class="page page-wide">
      <h1>Forensics</h1>
      <Tabs label="Mode" tabs={[['ask', 'Ask a question'], ['sql', 'SQL console']]} value={f.tab as 'ask' | 'sql'} onChange={(t) => setF({ tab: t }, { push: true })} />
      {f.tab === 'ask' ? <Ask question={f.q} onAsk={(q) => setF({ q }, { push: true })} /> : <SQLConsole sql={f.sql} onRun={(sql) => setF({ sql }, { push: true })} />}
    </div>
  );
}

function Ask({ question, onAsk }: { question: string; onAsk: (q: string) => void }) {
  const [text, setText] = useState(question);
  useEffect(() => setText(question), [question]);
  const examples = useLoad('examples', (s) => api.get<{ examples: string[] }>('/ask/examples', s));
  const res = useLoad(question ? question : null, () => api.post<AskResult>('/ask', { question }));
  return (
    <>
      <form class="ask" onSubmit={(e) => { e.preventDefault(); if (!text.trim()) return; if (text.trim() === question) res.reload(); else onAsk(text.trim()); }} role="search" aria-label="Ask a forensic question">
        <Field label="Question" class="grow">
          <input name="question" value={text} placeholder="Show all requests to /admin/export in the last 7 days" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </Field>
        <Button kind="primary" type="submit" busy={res.loading}>Ask</Button>
      </form>
      {examples.data && (
        <div class="chips examples" aria-label="Example questions">
          {examples.data.examples.map((x) => <button key={x} class="chip-btn" onClick={() => { setText(x); onAsk(x); }}>{x}</button>)}
        </div>
      )}
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Spinner label="Querying" />}
      {res.data && question && <AskAnswer r={res.data} />}
    </>
  );
}

function AskAnswer({ r }: { r: AskResult }) {
  const tl = r.timeline;
  const points = useMemo(() => (tl ? timelinePoints(tl.columns, tl.rows) : null), [tl]);
  const [showSQL, setShowSQL] = useState(true);
  return (
    <div class="answer">
      <Card title="How it was understood">
        <p class="interp">{r.interpretation}</p>
        <p class="small muted mono">{r.ir}</p>
        {r.notes.map((n) => <p key={n} class="note small">{n}</p>)}
        <div class="row-between">
          <span class="small muted">{formatCount(r.row_count)} rows{r.truncated && ' (truncated)'} · {r.elapsed_ms.toFixed(0)} ms{r.args.length > 0 && <> · parameters: <span class="mono">{r.args.map(String).join(', ')}</span></>}</span>
          <span>
            <button class="btn btn-small" onClick={() => setShowSQL(!showSQL)} aria-expanded={showSQL}>{showSQL ? 'Hide SQL' : 'Show SQL'}</button>
            {' '}<button class="btn btn-small" onClick={() => navigate(`/forensics?tab=sql&sql=${encodeURIComponent(inlineArgs(r.sql, r.args))}`)}>Edit as SQL</button>
          </span>
        </div>
        {showSQL && <Code label="SQL">{r.sql}</Code>}
      </Card>
      {tl && points && (
        <Card title={`Timeline, per ${tl.bucket}`}>
          <BarChart label={`${points.value} per ${tl.bucket}`} unit={points.value}
            points={points.points.map((p) => ({ label: tl.bucket === 'day' ? formatDay(p.t) : formatTime(p.t).slice(5, 16), value: p.value }))} />
        </Card>
      )}
      <ResultTable res={r} title="Results" />
      <MakeRule question={r.question} />
    </div>
  );
}

// inlineArgs replaces ? placeholders with literals, for editing as SQL.
function inlineArgs(sql: string, args: unknown[]): string {
  let i = 0;
  return sql.replace(/\?/g, (m) => {
    if (i >= args.length) return m;
    const v = args[i++];
    return typeof v === 'number' ? String(v) : "'" + String(v).replace(/'/g, "''") + "'";
  });
}

function cell(v: unknown, col: string, type: string): preact.ComponentChildren {
  if (v == null) return <span class="muted">null</span>;
  if (typeof v === 'number') {
    if (/bytes/.test(col)) return formatBytes(v);
    return Number.isInteger(v) ? formatCount(v) : v.toFixed(2);
  }
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (type.startsWith('TIMESTAMP') || /^\d{4}-\d\d-\d\dT/.test(s)) return <span class="nowrap">{formatTime(s)}</span>;
  if (col === 'trace_id') return <a class="mono" href={`/traces/${s}`}>{s.slice(0, 12)}…</a>;
  if (col === 'peer_ip' || col === 'ip') return <a class="mono" href={`/ips?ip=${encodeURIComponent(s)}`}>{s}</a>;
  return <span title={s}>{s}</span>;
}

function ResultTable({ res, title }: { res: QueryResult; title: string }) {
  const columns: Column<Row>[] = res.columns.map((c, i) => ({
    key: c, label: c, width: /target|user_agent|sql|path/.test(c) ? 'minmax(200px,3fr)' : 'minmax(90px,1fr)',
    align: /INT|DOUBLE|DECIMAL|FLOAT/.test(res.types[i] ?? '') ? 'right' : undefined,
    render: (r) => cell(r[c], c, res.types[i] ?? ''),
  }));
  const download = () => {
    const esc = (v: unknown) => { const s = v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    const csv = [res.columns.join(','), ...res.rows.map((r) => res.columns.map((c) => esc(r[c])).join(','))].join('\n');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    a.download = 'tracehound-query.csv';
    a.click();
  };
  return (
    <Card title={`${title} (${formatCount(res.row_count)}${res.truncated ? ', truncated' : ''})`} actions={res.rows.length > 0 && <button class="btn btn-small" onClick={download}>Download CSV</button>}>
      {res.rows.length === 0 ? <p class="muted">No rows.</p> : (
        <VirtualTable label="Query results" columns={columns} count={res.rows.length} row={(i) => res.rows[i]} rowKey={(_, i) => String(i)} height={Math.min(480, 40 + res.rows.length * 34)} />
      )}
    </Card>
  );
}

function MakeRule({ question }: { question: string }) {
  const canAct = useCan('analyst');
  const toast = useToast();
  const [draft, setDraft] = useState<AskRuleResult | null>(null);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [body, setBody] = useState('');
  const make = async () => {
    setBusy('draft');
    setError('');
    try {
      const d = await api.post<AskRuleResult>('/ask/rule', { question });
      setDraft(d);
      setBody(d.body);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy('');
    }
  };
  const save = async () => {
    if (!draft) return;
    setBusy('save');
    try {
      await api.put(`/rules/${encodeURIComponent(draft.rule_id)}`, { body });
      toast(`Rule ${draft.rule_id} saved`, 'ok', { label: 'Open', run: () => navigate(`/rules/${encodeURIComponent(draft.rule_id)}`) });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy('');
    }
  };
  return (
    <Card title="Turn it into a rule">
      {!draft ? (
        <>
          <p class="small muted">Drafts a rule that watches for the same pattern, and backtests it over history.</p>
          <Button onClick={make} busy={busy === 'draft'}>Draft a rule and backtest it</Button>
        </>
      ) : (
        <>
          <p class="small">{draft.interpretation} · window {draft.window}{draft.threshold ? ` · threshold ${draft.threshold}` : ''}</p>
          <Field label={`Rule ${draft.rule_id}`}><textarea class="mono code-edit" rows={12} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} spellcheck={false} /></Field>
          {draft.backtest_error && <ErrorBox error={'Backtest: ' + draft.backtest_error} />}
          {draft.backtest && <BacktestView bt={draft.backtest} />}
          {canAct ? <Button kind="primary" onClick={save} busy={busy === 'save'}>Save the rule</Button> : <Badge kind="muted">analysts can save rules</Badge>}
        </>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

function SQLConsole({ sql, onRun }: { sql: string; onRun: (sql: string) => void }) {
  const initial = sql || "SELECT peer_ip, count() AS requests, sum(response_bytes) AS bytes\nFROM traces\nWHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 7 DAY\nGROUP BY peer_ip\nORDER BY bytes DESC\nLIMIT 20";
  const [text, setText] = useState(initial);
  useEffect(() => { if (sql) setText(sql); }, [sql]);
  const res = useLoad(sql ? sql : null, () => api.post<QueryResult>('/sql', { sql }));
  return (
    <>
      <form class="sql-form" onSubmit={(e) => { e.preventDefault(); onRun(text); }}>
        <Field label="SQL (read-only; one SELECT over traces, time-bounded, row-capped)">
          <textarea class="mono code-edit" rows={8} value={text} spellcheck={false} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); onRun(text); } }} />
        </Field>
        <div class="row-between"><span class="small muted">Ctrl+Enter runs it. ClickHouse functions (countIf, uniqExact, toStartOfHour…) work on both stores.</span><Button kind="primary" type="submit" busy={res.loading}>Run</Button></div>
      </form>
      <ErrorBox error={res.error} />
      {res.data && sql && (
        <>
          <p class="small muted">{formatCount(res.data.row_count)} rows{res.data.truncated && ' (truncated)'} in {res.data.elapsed_ms.toFixed(0)} ms</p>
          <ResultTable res={res.data} title="Rows" />
        </>
      )}
    </>
  );
}
