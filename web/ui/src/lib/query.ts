// Filters live in the URL's query string, so every view can be shared.
// A schema names each filter, its kind and its default; defaults and empty
// values stay out of the URL. Pure functions, unit-tested (query.test.ts).

export type FieldSpec =
  | { kind: 'string'; default?: string }
  | { kind: 'number'; default?: number; min?: number; max?: number }
  | { kind: 'bool'; default?: boolean }
  | { kind: 'list'; default?: readonly string[] }
  | { kind: 'enum'; values: readonly string[]; default: string };

export type Schema = Record<string, FieldSpec>;

type ValueOf<F extends FieldSpec> = F extends { kind: 'string' } ? string
  : F extends { kind: 'number' } ? number | null
  : F extends { kind: 'bool' } ? boolean
  : F extends { kind: 'list' } ? string[]
  : F extends { kind: 'enum' } ? string
  : never;

export type Values<S extends Schema> = { [K in keyof S]: ValueOf<S[K]> };

function defaultOf(f: FieldSpec): unknown {
  switch (f.kind) {
    case 'string': return f.default ?? '';
    case 'number': return f.default ?? null;
    case 'bool': return f.default ?? false;
    case 'list': return [...(f.default ?? [])];
    case 'enum': return f.default;
  }
}

/** decodeQuery reads a schema's values from a query string; unknown keys are ignored and bad values fall back to the default. */
export function decodeQuery<S extends Schema>(schema: S, search: string | URLSearchParams): Values<S> {
  const p = typeof search === 'string' ? new URLSearchParams(search.startsWith('?') ? search.slice(1) : search) : search;
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) {
    const raw = p.get(key);
    out[key] = defaultOf(f);
    if (raw == null) continue;
    switch (f.kind) {
      case 'string':
        out[key] = raw;
        break;
      case 'number': {
        const n = Number(raw);
        if (raw.trim() !== '' && Number.isFinite(n) && (f.min == null || n >= f.min) && (f.max == null || n <= f.max)) out[key] = n;
        break;
      }
      case 'bool':
        if (raw === '1' || raw === 'true') out[key] = true;
        else if (raw === '0' || raw === 'false') out[key] = false;
        break;
      case 'list':
        out[key] = p.getAll(key).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
        break;
      case 'enum':
        if (f.values.includes(raw)) out[key] = raw;
        break;
    }
  }
  return out as Values<S>;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * encodeQuery writes values as a query string (without "?"), in schema
 * order, leaving out defaults and empty values. Keys of base that the
 * schema does not own are kept, so pages can share a URL.
 */
export function encodeQuery<S extends Schema>(schema: S, values: Partial<Values<S>>, base?: string | URLSearchParams): string {
  const p = new URLSearchParams();
  const keep = base == null ? null : typeof base === 'string' ? new URLSearchParams(base.startsWith('?') ? base.slice(1) : base) : base;
  for (const [key, f] of Object.entries(schema)) {
    const v = (values as Record<string, unknown>)[key];
    if (v === undefined) continue;
    switch (f.kind) {
      case 'string':
      case 'enum':
        if (v !== '' && v !== defaultOf(f)) p.set(key, String(v));
        break;
      case 'number':
        if (v != null && v !== defaultOf(f) && Number.isFinite(v as number)) p.set(key, String(v));
        break;
      case 'bool':
        if (v !== defaultOf(f)) p.set(key, v ? '1' : '0');
        break;
      case 'list': {
        const list = (v as string[]).filter(Boolean);
        if (list.length && !sameList(list, defaultOf(f) as string[])) p.set(key, list.join(','));
        break;
      }
    }
  }
  if (keep) {
    for (const [k, v] of keep) if (!(k in schema)) p.append(k, v);
  }
  return p.toString();
}

/** withQuery joins a path and a query string. */
export function withQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

/** apiQuery writes API parameters, leaving out empty ones. */
export function apiQuery(params: Record<string, string | number | boolean | null | undefined | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v == null || v === '' || v === false) continue;
    if (Array.isArray(v)) {
      if (v.length) p.set(k, v.join(','));
      continue;
    }
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}
