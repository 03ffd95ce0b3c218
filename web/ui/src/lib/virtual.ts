// Window math for virtualised lists: which rows to render for a scroll
// position, and where. Browsers cap an element's height (about 33 million
// pixels in Chromium, less elsewhere), so very long lists are scaled down
// to maxHeight and rows are placed relative to the scroll position.
// Pure functions, unit-tested (virtual.test.ts).

export const MAX_SCROLL_HEIGHT = 8_000_000;

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  count: number;
  overscan?: number;
  maxHeight?: number;
}

export interface WindowRange {
  /** First row to render (inclusive). */
  start: number;
  /** Row after the last one to render (exclusive). */
  end: number;
  /** Height of the scrolling content. */
  totalHeight: number;
  /** top(i) is where row i goes, in content pixels. */
  top: (i: number) => number;
}

/** windowRange returns the rows to render for a scroll position. */
export function windowRange(w: WindowInput): WindowRange {
  const overscan = w.overscan ?? 6;
  const rh = Math.max(1, w.rowHeight);
  const count = Math.max(0, Math.floor(w.count));
  const natural = count * rh;
  const totalHeight = Math.min(natural, w.maxHeight ?? MAX_SCROLL_HEIGHT);
  const maxScroll = Math.max(0, totalHeight - w.viewportHeight);
  const scrollTop = Math.min(Math.max(0, w.scrollTop), maxScroll);
  // scale maps content pixels to row pixels (1 unless the list is capped).
  const naturalMaxScroll = Math.max(0, natural - w.viewportHeight);
  const scale = maxScroll > 0 && natural > totalHeight ? naturalMaxScroll / maxScroll : 1;
  const logical = scrollTop * scale;
  const first = Math.floor(logical / rh);
  const visible = Math.ceil(w.viewportHeight / rh) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, totalHeight, top: (i: number) => scrollTop + (i * rh - logical) };
}

/** pagesFor lists the pages (of pageSize rows) that rows [start, end) fall on. */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start) return [];
  const out: number[] = [];
  for (let p = Math.floor(start / pageSize); p <= Math.floor((end - 1) / pageSize); p++) out.push(p);
  return out;
}

/** scrollTopFor returns the scroll position that shows row i, or null when it is visible already. */
export function scrollTopFor(i: number, w: Omit<WindowInput, 'overscan'>): number | null {
  const rh = Math.max(1, w.rowHeight);
  const natural = w.count * rh;
  const totalHeight = Math.min(natural, w.maxHeight ?? MAX_SCROLL_HEIGHT);
  const maxScroll = Math.max(0, totalHeight - w.viewportHeight);
  const naturalMaxScroll = Math.max(0, natural - w.viewportHeight);
  const scale = maxScroll > 0 && natural > totalHeight ? naturalMaxScroll / maxScroll : 1;
  const logical = w.scrollTop * scale;
  const rowTop = i * rh;
  if (rowTop >= logical && rowTop + rh <= logical + w.viewportHeight) return null;
  const target = rowTop < logical ? rowTop : rowTop + rh - w.viewportHeight;
  return Math.min(maxScroll, Math.max(0, target / scale));
}
