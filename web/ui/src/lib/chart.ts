// Geometry of the small charts drawn as inline SVG: bar timelines (the
// forensic per-day timeline, backtest firings per day, traffic) with
// "nice" axis ticks. Unit-tested (chart.test.ts).

/** niceMax rounds a maximum up to 1, 2, 2.5 or 5 times a power of ten, so axis ticks read well. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** niceTicks returns count+1 evenly spaced ticks from 0 to niceMax(max); small counts (a top of 1 to 5) tick each integer, not fractions of one. */
export function niceTicks(max: number, count = 4): number[] {
  const top = niceMax(max);
  if (Number.isInteger(top) && top >= 1 && top <= 5) count = top;
  return Array.from({ length: count + 1 }, (_, i) => (top * i) / count);
}

export interface Bar {
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  value: number;
}

export interface BarInput {
  label: string;
  value: number;
}

/** barLayout places one bar per point across width, scaled to niceMax of the values, bottom-aligned in height. */
export function barLayout(points: BarInput[], width: number, height: number, gap = 0.2): { bars: Bar[]; max: number } {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const n = Math.max(1, points.length);
  const slot = width / n;
  const w = Math.max(1, slot * (1 - gap));
  const bars = points.map((p, i) => {
    const h = (Math.max(0, p.value) / max) * height;
    return { x: i * slot + (slot - w) / 2, y: height - h, w, h, label: p.label, value: p.value };
  });
  return { bars, max };
}

/** timeBuckets turns query rows into bar inputs: the first time-typed or named column is the label, the first numeric other column the value. */
export function timelinePoints(columns: string[], rows: Record<string, unknown>[]): { time: string; value: string; points: { t: string; value: number }[] } | null {
  if (!rows.length || columns.length < 2) return null;
  const first = rows[0];
  const time = columns.find((c) => typeof first[c] === 'string' && !Number.isNaN(Date.parse(first[c] as string)) && /\d{4}-\d\d-\d\d/.test(first[c] as string));
  const value = columns.find((c) => c !== time && typeof first[c] === 'number');
  if (!time || !value) return null;
  return { time, value, points: rows.map((r) => ({ t: String(r[time]), value: Number(r[value]) || 0 })) };
}
