// The zoomable circle pack of the API map. Layout comes from d3-hierarchy
// (lib/tree.ts); zooming animates the SVG viewBox, so a zoom never
// re-renders the circles. Each render is measured
// (performance.measure "tracehound:pack") for the performance test.
import { Component } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatCompact } from '../../lib/format';
import { autoFocus, buildMapTree, packLayout, riskColor, type PackedNode, type SizeMode } from '../../lib/tree';
import type { Endpoint } from '../../lib/types';

const SIZE = 1000;

export interface CirclePackProps {
  endpoints: Endpoint[];
  selected: string;
  onSelect: (e: Endpoint) => void;
  size: SizeMode;
  onSize: (s: SizeMode) => void;
}

type View = [number, number, number]; // centre x, centre y, diameter shown

export function CirclePack(p: CirclePackProps) {
  const t0 = useRef(0);
  const [nodes, home] = useMemo(() => {
    t0.current = performance.now();
    const tree = buildMapTree(p.endpoints);
    const laid = packLayout(tree, SIZE, p.size);
    // Labels start below single-child chains (one service, all under /v1).
    const homeData = autoFocus(tree, (n) => n.kind !== 'endpoint');
    return [laid, laid.find((n) => n.data === homeData) ?? laid[0]] as const;
  }, [p.endpoints, p.size]);
  const svg = useRef<SVGSVGElement>(null);
  const [focus, setFocus] = useState<PackedNode | null>(null);
  const view = useRef<View>([SIZE / 2, SIZE / 2, SIZE]);
  const anim = useRef(0);

  useLayoutEffect(() => {
    // The DOM holds the circles now; measure once the frame is painted.
    const start = t0.current;
    requestAnimationFrame(() => {
      const ms = performance.now() - start;
      try {
        performance.measure('tracehound:pack', { start, duration: ms, detail: { endpoints: p.endpoints.length } });
      } catch { /* old browsers */ }
      svg.current?.setAttribute('data-render-ms', ms.toFixed(1));
    });
  }, [nodes]);

  // A new layout starts at the root, or at the selected endpoint's parent.
  useEffect(() => {
    const sel = nodes.find((n) => n.data.kind === 'endpoint' && n.data.endpoint?.id === p.selected);
    const f = sel?.parent && sel.parent.depth > 0 && sel.r < 40 ? sel.parent : null;
    setFocus(f);
    setView(f ? [f.x, f.y, f.r * 2.1] : [SIZE / 2, SIZE / 2, SIZE], false);
  }, [nodes]);

  function setView(v: View, animate = true): void {
    cancelAnimationFrame(anim.current);
    const el = svg.current;
    const apply = (x: View) => {
      view.current = x;
      el?.setAttribute('viewBox', `${x[0] - x[2] / 2} ${x[1] - x[2] / 2} ${x[2]} ${x[2]}`);
    };
    const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    if (!animate || reduce || !el) {
      apply(v);
      return;
    }
    const from = view.current;
    const t0 = performance.now();
    const dur = 450;
    const step = (now: number) => {
      const t = Math.min(1, (now - t0) / dur);
      const e = t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2;
      // Interpolate the diameter geometrically, so zooms feel even.
      const d = from[2] * (v[2] / from[2]) ** e;
      apply([from[0] + (v[0] - from[0]) * e, from[1] + (v[1] - from[1]) * e, d]);
      if (t < 1) anim.current = requestAnimationFrame(step);
    };
    anim.current = requestAnimationFrame(step);
  }

  const byIndex = nodes;
  const nodeAt = (t: EventTarget | null): PackedNode | undefined => {
    const i = (t as Element | null)?.getAttribute?.('data-i');
    return i == null ? undefined : byIndex[Number(i)];
  };
  const tip = useRef<((t: TipState | null) => void) | null>(null);

  function zoomTo(n: PackedNode | null): void {
    const f = n && n.depth > 0 ? n : null;
    setFocus(f);
    setView(f ? [f.x, f.y, f.r * 2.1] : [SIZE / 2, SIZE / 2, SIZE]);
  }

  function click(n: PackedNode, e: MouseEvent): void {
    e.stopPropagation();
    if (n.data.kind === 'endpoint') {
      p.onSelect(n.data.endpoint!);
      // A small circle brings its group into view.
      const k = view.current[2] / SIZE;
      if (n.parent && n.parent !== focus && n.r / k < 24) zoomTo(n.parent);
      return;
    }
    if (n === focus) zoomTo(n.parent);
    else zoomTo(n);
  }

  // Labels: the focus's children (or the services at the top), big enough to read.
  const focusNode = focus && focus !== nodes[0] ? (focus.depth < home.depth && isAncestor(focus, home) ? home : focus) : home;
  const k = (focus ? focus.r * 2.1 : SIZE) / SIZE;
  const labelled = nodes.filter((n) => n.parent === focusNode && n.r / k > 22);

  return (
    <div class="pack-wrap">
      <div class="pack-crumbs">
        <nav aria-label="Zoom path">
          <button class="crumb" onClick={() => zoomTo(null)}>All services</button>
          {focus && ancestry(focus).map((a) => (
            <span key={a.id}> / <button class="crumb" onClick={() => zoomTo(a)}>{a.data.name}</button></span>
          ))}
        </nav>
        <div class="seg" role="radiogroup" aria-label="Circle area">
          {(['traffic', 'log'] as const).map((m) => (
            <button key={m} role="radio" aria-checked={p.size === m} class={'seg-btn btn-small' + (p.size === m ? ' seg-on' : '')} onClick={() => p.onSize(m)}>
              {m === 'traffic' ? 'area = traffic' : 'area = log(traffic)'}
            </button>
          ))}
        </div>
      </div>
      <svg ref={svg} class="pack" viewBox={`0 0 ${SIZE} ${SIZE}`} role="group" data-circles={nodes.length}
        aria-label={`Circle pack of ${p.endpoints.length} endpoints: size is traffic, colour is risk`}
        onClick={(e) => {
          const n = nodeAt(e.target);
          if (n && n.depth > 0) click(n, e as unknown as MouseEvent);
          else zoomTo(focus?.parent ?? null);
        }}
        onMouseOver={(e) => {
          const n = nodeAt(e.target);
          tip.current?.((n && n.depth > 0) ? { n, x: (e as MouseEvent).clientX, y: (e as MouseEvent).clientY } : null);
        }}
        onMouseLeave={() => tip.current?.(null)}>
        <PackCircles nodes={nodes} selected={p.selected} />
        {labelled.map((n) => (
          <text key={'l' + n.id} x={n.x} y={n.y} class={'pk-label' + (n.data.kind === 'endpoint' ? ' pk-label-ep' : '')}
            font-size={Math.min(n.r / 3.2, 24 * k)} text-anchor="middle" dominant-baseline="middle">
            {n.data.kind === 'endpoint' ? n.data.name : n.data.name + (n.data.kind === 'prefix' ? '/' : '')}
          </text>
        ))}
      </svg>
      <Tip register={(f) => (tip.current = f)} />
      <div class="legend pack-legend" aria-hidden="true">
        <span><i class="dot" style={{ background: riskColor(0) }} />low risk</span>
        <span><i class="dot" style={{ background: riskColor(50) }} />medium</span>
        <span><i class="dot" style={{ background: riskColor(100) }} />high</span>
        <span><i class="ring ring-shadow" />shadow</span>
        <span><i class="ring ring-zombie" />zombie</span>
        <span class="muted">area = traffic · click a group to zoom, the background to zoom out</span>
      </div>
    </div>
  );
}

function ancestry(n: PackedNode): PackedNode[] {
  const out: PackedNode[] = [];
  for (let a: PackedNode | null = n; a && a.depth > 0; a = a.parent) out.unshift(a);
  return out;
}

function isAncestor(a: PackedNode, n: PackedNode): boolean {
  for (let x = n.parent; x; x = x.parent) if (x === a) return true;
  return false;
}

interface CirclesProps {
  nodes: PackedNode[];
  selected: string;
}

/**
 * PackCircles draws every circle. It re-renders only for a new layout or
 * selection (not for zooms or hovers), and its circles carry no listeners:
 * the SVG handles clicks and hovers for all of them (data-i).
 */
class PackCircles extends Component<CirclesProps> {
  shouldComponentUpdate(next: CirclesProps): boolean {
    return next.nodes !== this.props.nodes || next.selected !== this.props.selected;
  }

  render({ nodes, selected }: CirclesProps) {
    return (
      <g>
        {nodes.map((n, i) => {
          // One decimal is plenty in a 1000-unit square, and short
          // attribute strings parse faster.
          const cx = n.x.toFixed(1);
          const cy = n.y.toFixed(1);
          const r = n.r.toFixed(2);
          if (n.depth === 0) return <circle key={n.id} cx={cx} cy={cy} r={r} class="pk-root" data-i={i} />;
          const ep = n.data.kind === 'endpoint';
          const cls = ep
            ? 'pk-ep' + (n.data.shadow ? ' pk-shadow' : '') + (n.data.zombie ? ' pk-zombie' : '') + (n.data.endpoint?.id === selected ? ' pk-sel' : '')
            : 'pk-group pk-' + n.data.kind;
          return <circle key={n.id} cx={cx} cy={cy} r={r} class={cls} fill={ep ? riskColor(n.data.risk) : undefined}
            data-i={i} data-kind={n.data.kind} data-endpoint={ep ? n.data.name : undefined} />;
        })}
      </g>
    );
  }
}

interface TipState {
  n: PackedNode;
  x: number;
  y: number;
}

/** Tip is the pack's hover card; it re-renders alone, not the pack. */
function Tip({ register }: { register: (f: (t: TipState | null) => void) => void }) {
  const [t, setT] = useState<TipState | null>(null);
  register(setT);
  if (!t) return null;
  const d = t.n.data;
  return (
    <div class="pack-tip" role="tooltip" style={{ left: t.x + 14 + 'px', top: t.y + 14 + 'px' }}>
      <div class="mono">{d.kind === 'prefix' ? d.path + '/' : d.name}</div>
      <div class="muted small">{d.kind} · {formatCompact(d.hits)} requests · risk {d.risk}{d.shadow ? ' · shadow' : ''}{d.zombie ? ' · zombie' : ''}</div>
    </div>
  );
}
