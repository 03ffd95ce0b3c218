import { describe, expect, it } from 'vitest';
import { isErrorSpan, timeTicks, waterfallRows } from './waterfall';
import type { TraceSpan } from './types';

function span(id: string, depth: number, children: number, offset: number, duration: number, extra: Partial<TraceSpan> = {}): TraceSpan {
  return {
    span_id: id, depth, children, offset_ns: offset, duration_ns: duration, service_name: 's', span_name: id, span_kind: 'Internal',
    start: '', otel_status: 'Unset', span_attributes: {}, resource_attributes: {}, ...extra,
  };
}

const spans = [
  span('root', 0, 2, 0, 1000),
  span('a', 1, 1, 0, 400),
  span('a1', 2, 0, 100, 200),
  span('b', 1, 0, 500, 500),
];

describe('waterfallRows', () => {
  it('places bars as percentages of the trace', () => {
    const rows = waterfallRows(spans, 1000, new Set());
    expect(rows.map((r) => [r.span.span_id, r.left, r.width])).toEqual([['root', 0, 100], ['a', 0, 40], ['a1', 10, 20], ['b', 50, 50]]);
  });
  it('hides the descendants of a collapsed span, and only those', () => {
    const rows = waterfallRows(spans, 1000, new Set(['a']));
    expect(rows.map((r) => r.span.span_id)).toEqual(['root', 'a', 'b']);
    expect(rows[1].collapsed).toBe(true);
    expect(waterfallRows(spans, 1000, new Set(['root'])).map((r) => r.span.span_id)).toEqual(['root']);
  });
  it('ignores collapsing a leaf', () => {
    expect(waterfallRows(spans, 1000, new Set(['a1']))).toHaveLength(4);
  });
  it('gives zero-length spans a visible sliver and keeps bars inside the axis', () => {
    const rows = waterfallRows([span('r', 0, 0, 0, 0), span('late', 0, 0, 1000, 0)], 1000, new Set());
    expect(rows[0].width).toBeGreaterThan(0);
    expect(rows[1].left + rows[1].width).toBeLessThanOrEqual(100);
  });
  it('stretches the axis to a child that outlives the root', () => {
    const rows = waterfallRows([span('r', 0, 1, 0, 100), span('c', 1, 0, 50, 150)], 100, new Set());
    expect(rows[1].left + rows[1].width).toBe(100);
    expect(rows[0].width).toBe(50);
  });
});

describe('helpers', () => {
  it('timeTicks', () => expect(timeTicks(1000, 4)).toEqual([[0, 0], [25, 250], [50, 500], [75, 750], [100, 1000]]));
  it('isErrorSpan', () => {
    expect(isErrorSpan(span('x', 0, 0, 0, 1, { status_code: 502 }))).toBe(true);
    expect(isErrorSpan(span('x', 0, 0, 0, 1, { otel_status: 'Error' }))).toBe(true);
    expect(isErrorSpan(span('x', 0, 0, 0, 1, { status_code: 404 }))).toBe(false);
  });
});
