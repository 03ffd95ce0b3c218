// Small building blocks shared by the pages.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { gaugeArc, riskBand } from '../lib/investigation';
import { severityRank, statusLabel } from '../lib/triage';

export function Badge(props: { kind?: string; children: ComponentChildren; title?: string }) {
  return <span class={'badge' + (props.kind ? ' badge-' + props.kind : '')} title={props.title}>{props.children}</span>;
}

export function SevBadge({ severity }: { severity: string }) {
  const r = severityRank(severity);
  const kind = r === 0 ? 'crit' : r === 1 ? 'high' : r === 2 ? 'med' : 'low';
  return <Badge kind={kind}>{severity}</Badge>;
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge kind={'st-' + status}>{statusLabel(status)}</Badge>;
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span class="spinner" role="status" aria-live="polite"><span class="spin" aria-hidden="true" />{label}…</span>;
}

export function ErrorBox({ error, retry }: { error: string; retry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <span>{error}</span>
      {retry && <button class="btn btn-small" onClick={retry}>Retry</button>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Card(props: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={'card ' + (props.class ?? '')} id={props.id} aria-label={typeof props.title === 'string' ? props.title : undefined}>
      {(props.title || props.actions) && (
        <header class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="card-actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: ComponentChildren; kind?: string }) {
  return (
    <div class={'stat' + (props.kind ? ' stat-' + props.kind : '')}>
      <div class="stat-value">{props.value}</div>
      <div class="stat-label">{props.label}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function KV({ rows }: { rows: [ComponentChildren, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {rows.map(([k, v], i) => (
        <div key={i}><dt>{k}</dt><dd>{v}</dd></div>
      ))}
    </dl>
  );
}

export function Chips({ items, kind }: { items: string[] | null | undefined; kind?: string }) {
  if (!items?.length) return <span class="muted">none</span>;
  return <span class="chips">{items.map((t) => <Badge key={t} kind={kind}>{t}</Badge>)}</span>;
}

export function Code({ children, label }: { children: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="code">
      <button class="btn btn-small code-copy" aria-label={'Copy ' + (label ?? 'code')} onClick={() => {
        navigator.clipboard?.writeText(children).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        }, () => {});
      }}>{copied ? 'Copied' : 'Copy'}</button>
      <pre aria-label={label}><code>{children}</code></pre>
    </div>
  );
}

export function Tabs<T extends string>(props: { tabs: [T, string][]; value: T; onChange: (t: T) => void; label: string }) {
  return (
    <div class="tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map(([id, label]) => (
        <button key={id} role="tab" id={'tab-' + id} aria-selected={props.value === id} class={'tab' + (props.value === id ? ' tab-on' : '')}
          onClick={() => props.onChange(id)}>{label}</button>
      ))}
    </div>
  );
}

/** Dialog is a modal <dialog>: focus moves into it, Esc closes it. */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class={'dialog' + (props.wide ? ' dialog-wide' : '')} aria-label={props.title} onClose={props.onClose}
      onCancel={(e) => { e.preventDefault(); props.onClose(); }}>
      {props.open && (
        <div class="dialog-body">
          <header class="dialog-head">
            <h2>{props.title}</h2>
            <button class="btn btn-ghost" aria-label="Close" onClick={props.onClose}>✕</button>
          </header>
          {props.children}
        </div>
      )}
    </dialog>
  );
}

/** Field labels a control. */
export function Field(props: { label: string; children: ComponentChildren; hint?: string; class?: string }) {
  return (
    <label class={'field ' + (props.class ?? '')}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span class="field-hint">{props.hint}</span>}
    </label>
  );
}

/** Meter draws a 0–100 score as a bar. */
export function Meter({ value, label }: { value: number; label: string }) {
  const v = Math.max(0, Math.min(100, value));
  const kind = v >= 70 ? 'high' : v >= 40 ? 'med' : 'low';
  return (
    <span class="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v} aria-label={label}>
      <span class={'meter-fill meter-' + kind} style={{ width: v + '%' }} />
      <span class="meter-num">{v}</span>
    </span>
  );
}

/** Gauge draws a 0–100 score as a half-circle dial, coloured by band (a risk score). */
export function Gauge({ value, label, caption }: { value: number; label: string; caption?: string }) {
  const v = Math.round(Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0)));
  return (
    <svg class="gauge" viewBox="0 0 120 72" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v} aria-label={label}>
      <path d={gaugeArc(100, 60, 62, 50)} class="gauge-track" />
      {v > 0 && <path d={gaugeArc(v, 60, 62, 50)} class={'gauge-fill gauge-' + riskBand(v)} />}
      <text x={60} y={56} class="gauge-num" text-anchor="middle">{v}</text>
      <text x={60} y={70} class="gauge-cap" text-anchor="middle">{caption ?? 'of 100'}</text>
    </svg>
  );
}

/** StackBar draws parts of a whole (a status mix) as one bar with a legend. */
export function StackBar({ parts, label }: { parts: { label: string; value: number; kind: string }[]; label: string }) {
  const total = parts.reduce((a, p) => a + p.value, 0);
  return (
    <div class="stackbar-wrap">
      <div class="stackbar" role="img" aria-label={label + ': ' + parts.map((p) => `${p.label} ${p.value}`).join(', ')}>
        {total > 0 && parts.filter((p) => p.value > 0).map((p) => (
          <span key={p.label} class={'stack-' + p.kind} style={{ width: (p.value / total) * 100 + '%' }} title={`${p.label}: ${p.value}`} />
        ))}
      </div>
      <div class="legend">
        {parts.map((p) => <span key={p.label}><i class={'dot stack-' + p.kind} />{p.label} {p.value.toLocaleString('en-US')}</span>)}
      </div>
    </div>
  );
}

export function Button(props: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'danger' | 'ghost' | 'small'; busy?: boolean }) {
  const { kind, busy, class: cls, children, ...rest } = props;
  return (
    <button {...rest} class={'btn' + (kind ? ' btn-' + kind : '') + (cls ? ' ' + cls : '')} disabled={props.disabled || busy} aria-busy={busy}>
      {busy && <span class="spin" aria-hidden="true" />}{children}
    </button>
  );
}

/** Since is the select of time windows the API takes as "since". */
export function SinceSelect(props: { value: string; onChange: (v: string) => void; label?: string; options?: string[] }) {
  const opts = props.options ?? ['1h', '24h', '7d', '30d'];
  return (
    <Field label={props.label ?? 'Window'}>
      <select value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {opts.map((o) => <option key={o} value={o}>last {o}</option>)}
      </select>
    </Field>
  );
}
