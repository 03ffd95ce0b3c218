// A bar chart in inline SVG, for timelines (requests per day, firings per
// day). Each bar carries a <title> and the chart a text summary.
import { barLayout, niceTicks } from '../lib/chart';
import { formatCompact } from '../lib/format';

export interface BarChartProps {
  points: { label: string; value: number; title?: string }[];
  height?: number;
  label: string;
  unit?: string;
  kind?: 'accent' | 'danger';
  marker?: { index: number; label: string };
}

export function BarChart(p: BarChartProps) {
  const width = 640;
  const height = p.height ?? 180;
  const left = 44;
  const bottom = 26;
  const top = 10;
  const innerW = width - left - 8;
  const innerH = height - bottom - top;
  const { bars, max } = barLayout(p.points, innerW, innerH, 0.25);
  const ticks = niceTicks(max === 1 && p.points.every((x) => x.value === 0) ? 0 : max);
  const every = Math.max(1, Math.ceil(p.points.length / 12));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${p.label}: ` + p.points.map((x) => `${x.label} ${x.value}`).join(', ')} preserveAspectRatio="xMidYMid meet">
        <g transform={`translate(${left},${top})`}>
          {ticks.map((t) => {
            const y = innerH - (t / max) * innerH;
            return (
              <g key={t}>
                <line x1={0} x2={innerW} y1={y} y2={y} class="grid" />
                <text x={-6} y={y} class="axis" text-anchor="end" dominant-baseline="middle">{formatCompact(t)}</text>
              </g>
            );
          })}
          {bars.map((b, i) => (
            <g key={i} class="bar-g">
              <rect x={b.x} y={b.y} width={b.w} height={Math.max(b.h, b.value > 0 ? 1 : 0)} class={'bar bar-' + (p.kind ?? 'accent')} rx={2}>
                <title>{p.points[i].title ?? `${b.label}: ${b.value.toLocaleString('en-US')}${p.unit ? ' ' + p.unit : ''}`}</title>
              </rect>
              {i % every === 0 && <text x={b.x + b.w / 2} y={innerH + 16} class="axis" text-anchor="middle">{b.label}</text>}
            </g>
          ))}
          {p.marker && bars[p.marker.index] && (
            <g class="marker">
              <line x1={bars[p.marker.index].x + bars[p.marker.index].w / 2} x2={bars[p.marker.index].x + bars[p.marker.index].w / 2} y1={-4} y2={innerH} />
              <text x={bars[p.marker.index].x + bars[p.marker.index].w / 2 + 4} y={4} class="axis">{p.marker.label}</text>
            </g>
          )}
          <line x1={0} x2={innerW} y1={innerH} y2={innerH} class="baseline" />
        </g>
      </svg>
    </figure>
  );
}
