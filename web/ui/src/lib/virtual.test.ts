import { describe, expect, it } from 'vitest';
import { pagesFor, scrollTopFor, windowRange } from './virtual';

describe('windowRange', () => {
  it('renders the visible rows and the overscan at the top', () => {
    const r = windowRange({ scrollTop: 0, viewportHeight: 320, rowHeight: 32, count: 100_000, overscan: 5 });
    expect(r.start).toBe(0);
    expect(r.end).toBe(16); // 10 visible + 1 partial + 5 overscan
    expect(r.totalHeight).toBe(3_200_000);
    expect(r.top(3)).toBe(96);
  });
  it('renders a bounded window in the middle of 100k rows', () => {
    const r = windowRange({ scrollTop: 1_600_000, viewportHeight: 640, rowHeight: 32, count: 100_000, overscan: 6 });
    expect(r.start).toBe(50_000 - 6);
    expect(r.end).toBe(50_000 + 21 + 6);
    expect(r.end - r.start).toBeLessThan(200);
    expect(r.top(50_000)).toBe(1_600_000);
  });
  it('clamps at the end', () => {
    const r = windowRange({ scrollTop: 10_000_000, viewportHeight: 320, rowHeight: 32, count: 1000, overscan: 5 });
    expect(r.end).toBe(1000);
    expect(r.top(999) + 32).toBe(r.totalHeight);
  });
  it('handles an empty list', () => {
    const r = windowRange({ scrollTop: 0, viewportHeight: 320, rowHeight: 32, count: 0 });
    expect([r.start, r.end, r.totalHeight]).toEqual([0, 0, 0]);
  });
  it('scales lists taller than the cap and still reaches the last row', () => {
    const w = { viewportHeight: 500, rowHeight: 32, count: 1_000_000, overscan: 0, maxHeight: 1_000_000 };
    const bottom = windowRange({ ...w, scrollTop: 1_000_000 });
    expect(bottom.totalHeight).toBe(1_000_000);
    expect(bottom.end).toBe(1_000_000);
    // The last row's bottom edge is the bottom of the viewport.
    expect(bottom.top(999_999) + 32).toBeCloseTo(1_000_000, 6);
    const mid = windowRange({ ...w, scrollTop: 499_750 });
    expect(mid.start).toBeGreaterThan(490_000);
    expect(mid.start).toBeLessThan(510_000);
    expect(mid.end - mid.start).toBeLessThan(20);
  });
});

describe('pagesFor', () => {
  it('lists the pages a window spans', () => {
    expect(pagesFor(0, 10, 500)).toEqual([0]);
    expect(pagesFor(495, 520, 500)).toEqual([0, 1]);
    expect(pagesFor(1000, 1000, 500)).toEqual([]);
    expect(pagesFor(999, 1000, 500)).toEqual([1]);
  });
});

describe('scrollTopFor', () => {
  const w = { scrollTop: 320, viewportHeight: 320, rowHeight: 32, count: 1000 };
  it('leaves visible rows alone', () => expect(scrollTopFor(12, w)).toBeNull());
  it('scrolls up to a row above', () => expect(scrollTopFor(2, w)).toBe(64));
  it('scrolls down to a row below', () => expect(scrollTopFor(25, w)).toBe(25 * 32 + 32 - 320));
});
