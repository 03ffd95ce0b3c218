import { describe, expect, it } from 'vitest';
import { barLayout, niceMax, niceTicks, timelinePoints } from './chart';

describe('niceMax', () => {
  const cases: [number, number][] = [[0, 1], [1, 1], [7, 10], [8923, 10000], [2419, 2500], [180, 200], [0.3, 0.5], [46, 50]];
  for (const [v, want] of cases) it(`niceMax(${v}) = ${want}`, () => expect(niceMax(v)).toBe(want));
  it('niceTicks', () => expect(niceTicks(8923)).toEqual([0, 2500, 5000, 7500, 10000]));
  it('niceTicks of small counts are whole numbers', () => {
    expect(niceTicks(2)).toEqual([0, 1, 2]);
    expect(niceTicks(1)).toEqual([0, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(4)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(7)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(niceTicks(0.3)).toEqual([0, 0.125, 0.25, 0.375, 0.5]);
  });
});

describe('barLayout', () => {
  it('scales bars to the nice maximum and aligns them at the bottom', () => {
    const { bars, max } = barLayout([{ label: 'd1', value: 47 }, { label: 'd2', value: 3214 }, { label: 'd3', value: 8923 }, { label: 'd4', value: 2419 }], 400, 100, 0);
    expect(max).toBe(10000);
    expect(bars.map((b) => b.x)).toEqual([0, 100, 200, 300]);
    expect(bars[2].h).toBeCloseTo(89.23, 2);
    expect(bars[2].y + bars[2].h).toBeCloseTo(100, 6);
    expect(bars[0].h).toBeGreaterThan(0);
  });
  it('copes with no points and negative values', () => {
    expect(barLayout([], 100, 50).bars).toEqual([]);
    expect(barLayout([{ label: 'x', value: -5 }], 100, 50).bars[0].h).toBe(0);
  });
});

describe('timelinePoints', () => {
  it('finds the time and the value columns', () => {
    const t = timelinePoints(['day', 'requests'], [{ day: '2026-11-25T00:00:00Z', requests: 47 }, { day: '2026-11-26T00:00:00Z', requests: 3214 }]);
    expect(t?.time).toBe('day');
    expect(t?.value).toBe('requests');
    expect(t?.points).toEqual([{ t: '2026-11-25T00:00:00Z', value: 47 }, { t: '2026-11-26T00:00:00Z', value: 3214 }]);
  });
  it('gives up without a time column', () => {
    expect(timelinePoints(['ip', 'requests'], [{ ip: '1.2.3.4', requests: 3 }])).toBeNull();
  });
});
