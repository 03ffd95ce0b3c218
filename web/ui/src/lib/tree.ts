// The API map's circle pack: endpoints arranged as service → path prefix →
// endpoint, sized by traffic and coloured by risk. buildMapTree makes the
// tree from the inventory; packLayout lays it out with d3-hierarchy.
// Unit-tested (tree.test.ts).
import { hierarchy, pack } from 'd3-hierarchy';
import type { Endpoint } from './types';

export type NodeKind = 'root' | 'service' | 'prefix' | 'endpoint';

export interface MapNode {
  kind: NodeKind;
  /** name is what a label shows: a service, a path segment run ("v1/admin") or "GET /v1/admin/export". */
  name: string;
  /** path is the prefix's path ("/v1/admin") or the endpoint's template. */
  path: string;
  hits: number;
  risk: number;
  shadow?: boolean;
  zombie?: boolean;
  endpoint?: Endpoint;
  children?: MapNode[];
}

export type SizeMode = 'traffic' | 'log';

function segments(template: string): string[] {
  return template.split('/').filter((s) => s !== '');
}

/**
 * buildMapTree groups endpoints by service, then by path prefix. A prefix
 * holding a single sub-prefix and no endpoint of its own is merged with it
 * ("v1" + "admin" → "v1/admin"), so chains do not nest circles for nothing.
 * Hits and risk roll up: a group's hits are the sum, its risk the maximum.
 */
export function buildMapTree(endpoints: Endpoint[]): MapNode {
  const root: MapNode = { kind: 'root', name: 'API', path: '', hits: 0, risk: 0, children: [] };
  const services = new Map<string, MapNode>();
  for (const ep of endpoints) {
    let svc = services.get(ep.service);
    if (!svc) {
      svc = { kind: 'service', name: ep.service || '(no service)', path: '', hits: 0, risk: 0, children: [] };
      services.set(ep.service, svc);
      root.children!.push(svc);
    }
    let node = svc;
    let path = '';
    for (const seg of segments(ep.template)) {
      path += '/' + seg;
      let next = node.children!.find((c) => c.kind === 'prefix' && c.path === path);
      if (!next) {
        next = { kind: 'prefix', name: seg, path, hits: 0, risk: 0, children: [] };
        node.children!.push(next);
      }
      node = next;
    }
    node.children!.push({
      kind: 'endpoint', name: `${ep.method} ${ep.template}`, path: ep.template, hits: ep.hits,
      risk: ep.risk_score, shadow: ep.shadow, zombie: ep.zombie, endpoint: ep,
    });
  }
  for (const svc of root.children!) svc.children = svc.children!.map(compress);
  rollUp(root);
  return root;
}

// compress merges single-prefix chains and lifts a prefix holding one
// endpoint and nothing else up to that endpoint.
function compress(n: MapNode): MapNode {
  if (n.kind !== 'prefix') return n;
  n.children = n.children!.map(compress);
  while (n.children!.length === 1 && n.children![0].kind === 'prefix') {
    const only = n.children![0];
    n = { ...only, name: n.name + '/' + only.name };
  }
  if (n.children!.length === 1 && n.children![0].kind === 'endpoint') return n.children![0];
  return n;
}

function rollUp(n: MapNode): void {
  if (!n.children) return;
  let hits = 0;
  let risk = 0;
  for (const c of n.children) {
    rollUp(c);
    hits += c.hits;
    risk = Math.max(risk, c.risk);
  }
  n.hits = hits;
  n.risk = risk;
  n.children.sort((a, b) => b.hits - a.hits || a.name.localeCompare(b.name));
}

/** leafValue is an endpoint's area in the pack: its hits, or their logarithm; never zero, so quiet endpoints stay visible. */
export function leafValue(hits: number, mode: SizeMode): number {
  const h = Math.max(0, hits);
  return mode === 'log' ? Math.log10(h + 1) + 1 : Math.max(h, 1);
}

export interface PackedNode {
  x: number;
  y: number;
  r: number;
  depth: number;
  data: MapNode;
  parent: PackedNode | null;
  /** id is stable across layouts: the node's kind and path within its service. */
  id: string;
}

/** packLayout lays the tree out in a size × size square; nodes come parents first. */
export function packLayout(tree: MapNode, size: number, mode: SizeMode = 'traffic'): PackedNode[] {
  const h = hierarchy<MapNode>(tree, (d) => d.children)
    .sum((d) => (d.kind === 'endpoint' ? leafValue(d.hits, mode) : 0))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const root = pack<MapNode>().size([size, size]).padding((d) => (d.depth === 0 ? 6 : 3))(h);
  const out: PackedNode[] = [];
  const byNode = new Map<unknown, PackedNode>();
  root.each((d) => {
    const parent = d.parent ? byNode.get(d.parent)! : null;
    const svc = d.ancestors().find((a) => a.data.kind === 'service');
    const id = `${d.data.kind}:${svc?.data.name ?? ''}:${d.data.kind === 'endpoint' ? d.data.endpoint?.id ?? d.data.name : d.data.path || d.data.name}`;
    const p: PackedNode = { x: d.x, y: d.y, r: d.r, depth: d.depth, data: d.data, parent, id };
    byNode.set(d, p);
    out.push(p);
  });
  return out;
}

/** riskColor maps a risk score 0…100 to a colour: quiet slate for no risk, amber at 50, red at 100 (mixed in RGB, so it never passes through green). */
export function riskColor(score: number): string {
  const s = Math.min(100, Math.max(0, score)) / 100;
  const slate = [138, 161, 180];
  const amber = [232, 163, 58];
  const red = [217, 48, 37];
  const [a, b, t] = s < 0.5 ? [slate, amber, s / 0.5] : [amber, red, (s - 0.5) / 0.5];
  const mix = (i: number) => Math.round(a[i] + (b[i] - a[i]) * t);
  return `rgb(${mix(0)} ${mix(1)} ${mix(2)})`;
}

/** autoFocus is the node a view starts from: the root, or the first node below it with several children (one service under /v1 starts at /v1). */
export function autoFocus<T extends { children?: T[] | null; data?: MapNode }>(root: T, isGroup: (n: T) => boolean): T {
  let n = root;
  while (n.children && n.children.length === 1 && isGroup(n.children[0])) n = n.children[0];
  return n;
}

/** filterEndpoints keeps the endpoints that match a text query (service, method, template, tags) and a minimum risk. */
export function filterEndpoints(eps: Endpoint[], q: string, minRisk: number | null): Endpoint[] {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  return eps.filter((e) => {
    if (minRisk != null && e.risk_score < minRisk) return false;
    if (!words.length) return true;
    const hay = `${e.service} ${e.method} ${e.template} ${e.tags.join(' ')} ${e.sensitivity.join(' ')}${e.shadow ? ' shadow' : ''}${e.zombie ? ' zombie' : ''}${e.new ? ' new' : ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** syntheticEndpoints makes n plausible endpoints for tests and benchmarks. */
export function syntheticEndpoints(n: number, seed = 1): Endpoint[] {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
  const services = ['billing-api', 'datavault-api', 'identity', 'search', 'reports'];
  const areas = ['admin', 'users', 'orgs', 'collections', 'documents', 'search', 'exports', 'auth', 'webhooks', 'files'];
  const subs = ['items', 'members', 'settings', 'history', 'keys', 'audit', 'shares', 'versions'];
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const out: Endpoint[] = [];
  for (let i = 0; i < n; i++) {
    const svc = services[i % services.length];
    const area = areas[Math.floor(rand() * areas.length)];
    const sub = subs[Math.floor(rand() * subs.length)];
    const template = `/v${1 + (i % 2)}/${area}/{id}/${sub}/${i}`;
    const hits = Math.floor(Math.exp(rand() * 11));
    const risk = Math.floor(rand() * rand() * 100);
    out.push({
      id: 'syn' + i.toString(16).padStart(6, '0'), service: svc, method: methods[i % methods.length], template,
      hits, documented: rand() > 0.1, shadow: rand() < 0.05, zombie: rand() < 0.03, new: rand() < 0.05,
      tags: area === 'admin' ? ['admin'] : [], sensitivity: [], risk_score: risk,
    });
  }
  return out;
}
