// The trace waterfall: which spans show when subtrees are collapsed, and
// where each span's bar sits on the trace's time axis. Unit-tested
// (waterfall.test.ts).
import type { TraceSpan } from './types';

export interface WaterfallRow {
  span: TraceSpan;
  /** left and width are percentages of the trace's duration. */
  left: number;
  width: number;
  hasChildren: boolean;
  collapsed: boolean;
}

/**
 * waterfallRows keeps the API's order (depth-first, parents before
 * children), hides the descendants of collapsed spans, and places each bar.
 * A span with no duration still gets a sliver, so it can be seen.
 */
export function waterfallRows(spans: TraceSpan[], traceDurationNs: number, collapsed: ReadonlySet<string>): WaterfallRow[] {
  const total = Math.max(1, traceDurationNs, ...spans.map((s) => s.offset_ns + s.duration_ns));
  const out: WaterfallRow[] = [];
  let hideBelow = -1; // depth of a collapsed ancestor; -1: none
  for (const s of spans) {
    if (hideBelow >= 0) {
      if (s.depth > hideBelow) continue;
      hideBelow = -1;
    }
    const isCollapsed = collapsed.has(s.span_id) && s.children > 0;
    const left = (Math.max(0, s.offset_ns) / total) * 100;
    const width = Math.max(0.2, (Math.max(0, s.duration_ns) / total) * 100);
    out.push({ span: s, left, width: Math.min(width, 100 - left), hasChildren: s.children > 0, collapsed: isCollapsed });
    if (isCollapsed) hideBelow = s.depth;
  }
  return out;
}

/** timeTicks places n+1 evenly spaced ticks over a duration, as [percent, ns] pairs. */
export function timeTicks(durationNs: number, n = 4): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i <= n; i++) out.push([(i / n) * 100, (durationNs * i) / n]);
  return out;
}

/** isErrorSpan says whether a span failed: an OpenTelemetry error status or an HTTP 5xx. */
export function isErrorSpan(s: TraceSpan): boolean {
  return s.otel_status === 'Error' || (s.status_code ?? 0) >= 500;
}
