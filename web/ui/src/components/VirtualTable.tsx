// A virtualised table: only the rows in view (plus a few) are in the DOM,
// so 100,000 rows scroll as smoothly as 100. Rows have a fixed height;
// rows not loaded yet render as placeholders while onRange fetches them.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { scrollTopFor, windowRange } from '../lib/virtual';

export interface Column<T> {
  key: string;
  label: ComponentChildren;
  width: string;
  render: (row: T, index: number) => ComponentChildren;
  align?: 'right';
  sortKey?: string;
  title?: string;
}

export interface VirtualTableProps<T> {
  columns: Column<T>[];
  count: number;
  row: (i: number) => T | undefined;
  rowKey: (row: T, i: number) => string;
  rowHeight?: number;
  height?: number | string;
  label: string;
  onRange?: (start: number, end: number) => void;
  activeIndex?: number;
  onActivate?: (i: number, row: T) => void;
  rowClass?: (row: T, i: number) => string;
  sort?: { key: string; desc: boolean };
  onSort?: (key: string) => void;
  empty?: ComponentChildren;
}

const OVERSCAN = 12;

export function VirtualTable<T>(p: VirtualTableProps<T>) {
  const rowHeight = p.rowHeight ?? 34;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const grid = p.columns.map((c) => c.width).join(' ');

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight || 600));
    ro.observe(el);
    setViewport(el.clientHeight || 600);
    return () => ro.disconnect();
  }, []);

  const w = windowRange({ scrollTop, viewportHeight: viewport, rowHeight, count: p.count, overscan: OVERSCAN });

  // Scrolling re-renders only when the rows in view leave the rendered
  // window (its overscan is a margin), unless the list is so long that
  // rows are placed relative to the scroll position.
  const onScroll = (e: Event) => {
    const st = (e.target as HTMLDivElement).scrollTop;
    const inView = windowRange({ scrollTop: st, viewportHeight: viewport, rowHeight, count: p.count, overscan: 0 });
    const scaled = p.count * rowHeight > w.totalHeight;
    if (scaled || inView.start < w.start || inView.end > w.end || (inView.start - w.start < 2 && w.start > 0) || (w.end - inView.end < 2 && w.end < p.count)) {
      setScrollTop(st);
    }
  };

  useEffect(() => {
    p.onRange?.(w.start, w.end);
  }, [w.start, w.end, p.count]);

  // Keep the active row in view (keyboard navigation).
  useEffect(() => {
    const el = scroller.current;
    if (!el || p.activeIndex == null || p.activeIndex < 0) return;
    const top = scrollTopFor(p.activeIndex, { scrollTop: el.scrollTop, viewportHeight: el.clientHeight, rowHeight, count: p.count });
    if (top != null) el.scrollTop = top;
  }, [p.activeIndex]);

  // One listener for every row: a click on a row (not on a control in it)
  // activates it.
  const activate = (e: MouseEvent) => {
    const t = e.target as Element;
    if (!p.onActivate || t.closest('input,button,a,select,label')) return;
    const i = Number(t.closest('[data-index]')?.getAttribute('data-index'));
    const r = Number.isInteger(i) ? p.row(i) : undefined;
    if (r) p.onActivate(i, r);
  };

  const rows: ComponentChildren[] = [];
  for (let i = w.start; i < w.end; i++) {
    const r = p.row(i);
    const top = w.top(i);
    if (!r) {
      rows.push(<div key={'ph' + i} class="vrow vrow-ph" role="row" aria-rowindex={i + 2} style={{ transform: `translateY(${top}px)`, height: rowHeight + 'px', gridTemplateColumns: grid }}>
        <span class="ph-bar" role="cell" aria-label="loading" />
      </div>);
      continue;
    }
    const active = p.activeIndex === i;
    rows.push(
      <div key={p.rowKey(r, i)} class={'vrow' + (active ? ' vrow-active' : '') + (p.rowClass ? ' ' + p.rowClass(r, i) : '')} role="row" aria-rowindex={i + 2}
        data-index={i} aria-selected={active || undefined} style={{ transform: `translateY(${top}px)`, height: rowHeight + 'px', gridTemplateColumns: grid }}>
        {p.columns.map((c) => <div key={c.key} role="cell" class={'vcell' + (c.align === 'right' ? ' num' : '')}>{c.render(r, i)}</div>)}
      </div>,
    );
  }

  return (
    <div class="vtable" role="table" aria-label={p.label} aria-rowcount={p.count + 1}>
      <div class="vhead" role="row" aria-rowindex={1} style={{ gridTemplateColumns: grid }}>
        {p.columns.map((c) => {
          const sorted = p.sort && c.sortKey && p.sort.key === c.sortKey;
          return (
            <div key={c.key} role="columnheader" class={'vcell' + (c.align === 'right' ? ' num' : '')} title={c.title}
              aria-sort={sorted ? (p.sort!.desc ? 'descending' : 'ascending') : undefined}>
              {c.sortKey && p.onSort
                ? <button class="sort" onClick={() => p.onSort!(c.sortKey!)}>{c.label}{sorted ? (p.sort!.desc ? ' ↓' : ' ↑') : ''}</button>
                : c.label}
            </div>
          );
        })}
      </div>
      <div class="vbody" ref={scroller} style={{ height: typeof p.height === 'number' ? p.height + 'px' : p.height ?? '60vh' }}
        onScroll={onScroll} tabIndex={0} aria-label={p.label + ' rows'}>
        {p.count === 0 && p.empty ? <div class="empty">{p.empty}</div> : (
          <div class="vspace" style={{ height: w.totalHeight + 'px' }} onClick={activate}>{rows}</div>
        )}
      </div>
    </div>
  );
}
