// Formatting of the figures the console shows: bytes, durations, counts,
// times. Pure functions, unit-tested (format.test.ts).

const byteUnits = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** formatBytes writes a byte count in decimal units: 188095 → "188 KB", 2746747103 → "2.7 GB". */
export function formatBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–';
  const neg = n < 0;
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1000 && i < byteUnits.length - 1) {
    v /= 1000;
    i++;
  }
  // Rounding may carry into the next unit (999.96 KB → 1.0 MB).
  if (i > 0 && Number(v.toFixed(v < 10 ? 1 : 0)) >= 1000 && i < byteUnits.length - 1) {
    v /= 1000;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0);
  return (neg ? '-' : '') + s + ' ' + byteUnits[i];
}

/** formatDuration writes nanoseconds for people: 850 ns, 12 µs, 2.3 ms, 384 ms, 1.5 s, 3m 20s, 4h 5m, 3d 4h. */
export function formatDuration(ns: number | null | undefined): string {
  if (ns == null || !Number.isFinite(ns)) return '–';
  if (ns < 0) return '-' + formatDuration(-ns);
  if (ns < 1e3) return Math.round(ns) + ' ns';
  if (ns < 1e6) return trim(ns / 1e3) + ' µs';
  if (ns < 1e9) return trim(ns / 1e6) + ' ms';
  const s = ns / 1e9;
  if (s < 60) return trim(s) + ' s';
  const total = Math.round(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return h ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m ? `${h}h ${m}m` : `${h}h`;
  return sec ? `${m}m ${sec}s` : `${m}m`;
}

/** formatMs writes milliseconds (as the API's latency fields carry them). */
export function formatMs(ms: number | null | undefined): string {
  return ms == null ? '–' : formatDuration(ms * 1e6);
}

// trim keeps one decimal below 10 and none above: 2.34 → "2.3", 384.1 → "384".
function trim(v: number): string {
  return v < 10 ? String(Math.round(v * 10) / 10) : String(Math.round(v));
}

const nf = new Intl.NumberFormat('en-US');

/** formatCount writes an integer with thousands separators: 14603 → "14,603". */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–';
  return nf.format(Math.round(n));
}

/** formatCompact writes a count in at most four characters: 950, 1.2k, 175k, 3.4M. */
export function formatCompact(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const units: [number, string][] = [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, u] of units) {
    if (a >= size) {
      const v = n / size;
      const s = Math.abs(v) < 10 ? String(Math.round(v * 10) / 10) : String(Math.round(v));
      // 999.6k rounds to 1000k: carry into the next unit.
      if (s === '1000' && u !== 'B') return formatCompact(Math.sign(n) * size * 1000);
      return s + u;
    }
  }
  return String(Math.round(n));
}

/** formatPercent writes a ratio 0…1 as a percentage: 0.0312 → "3.1%". */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  if (p !== 0 && Math.abs(p) < 0.1) return (p < 0 ? '>-' : '<') + '0.1%';
  return (Math.abs(p) < 10 ? Math.round(p * 10) / 10 : Math.round(p)) + '%';
}

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** formatTime writes an instant in UTC, to the second: "2026-11-28 10:56:37". */
export function formatTime(t: string | number | Date | null | undefined): string {
  if (t == null || t === '') return '–';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime()) || d.getTime() <= 0) return '–';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** formatDay writes the UTC day of an instant: "Wed 25 Nov". */
export function formatDay(t: string | number | Date): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return '–';
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${days[d.getUTCDay()]} ${d.getUTCDate()} ${months[d.getUTCMonth()]}`;
}

/** formatRelative says how long ago t was, from now: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; future times read "in …". */
export function formatRelative(t: string | number | Date | null | undefined, now: number = Date.now()): string {
  if (t == null || t === '') return '–';
  const ms = (t instanceof Date ? t : new Date(t)).getTime();
  if (Number.isNaN(ms) || ms <= 0) return '–';
  const diff = now - ms;
  const a = Math.abs(diff) / 1000;
  let s: string;
  if (a < 5) return 'just now';
  if (a < 60) s = Math.floor(a) + ' s';
  else if (a < 3600) s = Math.floor(a / 60) + ' min';
  else if (a < 86400) s = Math.floor(a / 3600) + ' h';
  else s = Math.floor(a / 86400) + ' d';
  return diff >= 0 ? s + ' ago' : 'in ' + s;
}

/** parseGoDuration reads the durations the API writes ("5m0s", "1h30m", "300ms") into nanoseconds; null when it cannot. */
export function parseGoDuration(s: string | null | undefined): number | null {
  if (!s) return null;
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]];
    matched += m[0];
  }
  const body = s.startsWith('-') ? s.slice(1) : s;
  if (matched !== body) return null;
  return s.startsWith('-') ? -total : total;
}

/** shortDuration turns a Go duration string into a short form: "5m0s" → "5m", "1h0m0s" → "1h". */
export function shortDuration(s: string | null | undefined): string {
  const ns = parseGoDuration(s);
  return ns == null ? (s ?? '–') : formatDuration(ns);
}
