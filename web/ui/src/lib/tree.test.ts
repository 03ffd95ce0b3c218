import { describe, expect, it } from 'vitest';
import { autoFocus, buildMapTree, filterEndpoints, leafValue, packLayout, riskColor, syntheticEndpoints, type MapNode } from './tree';
import type { Endpoint } from './types';

function ep(service: string, method: string, template: string, hits: number, risk = 0, extra: Partial<Endpoint> = {}): Endpoint {
  return { id: `${method}${template}`, service, method, template, hits, documented: true, shadow: false, zombie: false, new: false, tags: [], sensitivity: [], risk_score: risk, ...extra };
}

function names(n: MapNode): unknown {
  return n.children ? { [n.name]: n.children.map(names) } : n.name;
}

describe('buildMapTree', () => {
  const eps = [
    ep('datavault-api', 'GET', '/v1/admin/export', 14603, 100, { shadow: true }),
    ep('datavault-api', 'GET', '/v1/admin/users', 167, 35),
    ep('datavault-api', 'POST', '/v1/admin/users', 7, 40),
    ep('datavault-api', 'GET', '/v1/collections', 900, 10),
    ep('datavault-api', 'GET', '/v1/collections/{id}', 5000, 20),
    ep('identity', 'POST', '/login', 80, 15),
  ];
  const tree = buildMapTree(eps);

  it('groups service → prefix → endpoint, merging single chains', () => {
    expect(names(tree)).toEqual({
      API: [
        { 'datavault-api': [{ v1: [
          { admin: ['GET /v1/admin/export', { users: ['GET /v1/admin/users', 'POST /v1/admin/users'] }] },
          { collections: ['GET /v1/collections/{id}', 'GET /v1/collections'] },
        ] }] },
        { identity: ['POST /login'] },
      ],
    });
  });
  it('rolls hits up as sums and risk as maxima', () => {
    const dv = tree.children![0];
    expect(dv.hits).toBe(14603 + 167 + 7 + 900 + 5000);
    expect(dv.risk).toBe(100);
    const users = dv.children![0].children![0].children![1];
    expect(users.path).toBe('/v1/admin/users');
    expect([users.hits, users.risk]).toEqual([174, 40]);
  });
  it('keeps the endpoint on its leaf', () => {
    const exp = tree.children![0].children![0].children![0].children![0];
    expect(exp.kind).toBe('endpoint');
    expect(exp.shadow).toBe(true);
    expect(exp.endpoint?.template).toBe('/v1/admin/export');
  });
  it('merges a chain that ends in a single endpoint into that endpoint', () => {
    const t = buildMapTree([ep('s', 'GET', '/a/b/c', 1), ep('s', 'GET', '/x', 2)]);
    expect(names(t)).toEqual({ API: [{ s: ['GET /x', 'GET /a/b/c'] }] });
  });
  it('handles the root path', () => {
    const t = buildMapTree([ep('s', 'GET', '/', 3)]);
    expect(t.children![0].children![0].name).toBe('GET /');
  });
});

describe('packLayout', () => {
  it('lays out 2,000 endpoints with every circle inside its parent', () => {
    const eps = syntheticEndpoints(2000);
    const nodes = packLayout(buildMapTree(eps), 1000);
    const leaves = nodes.filter((n) => n.data.kind === 'endpoint');
    expect(leaves).toHaveLength(2000);
    expect(nodes[0].data.kind).toBe('root');
    expect(nodes[0].r).toBeCloseTo(500, 0);
    for (const n of nodes) {
      if (!n.parent) continue;
      const d = Math.hypot(n.x - n.parent.x, n.y - n.parent.y);
      expect(d + n.r).toBeLessThanOrEqual(n.parent.r + 1e-6);
    }
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
  });
  it('sizes leaves by traffic', () => {
    const nodes = packLayout(buildMapTree([ep('s', 'GET', '/big', 10000), ep('s', 'GET', '/small', 100)]), 500);
    const big = nodes.find((n) => n.data.path === '/big')!;
    const small = nodes.find((n) => n.data.path === '/small')!;
    expect((big.r / small.r) ** 2).toBeCloseTo(100, 0);
  });
  it('log size mode compresses the range', () => {
    expect(leafValue(10000, 'log')).toBeCloseTo(5, 3);
    expect(leafValue(0, 'traffic')).toBe(1);
  });
});

describe('riskColor', () => {
  it('goes from slate through amber to red', () => {
    expect(riskColor(0)).toBe('rgb(138 161 180)');
    expect(riskColor(25)).toBe('rgb(185 162 119)');
    expect(riskColor(50)).toBe('rgb(232 163 58)');
    expect(riskColor(100)).toBe('rgb(217 48 37)');
    expect(riskColor(250)).toBe(riskColor(100));
    expect(riskColor(-5)).toBe(riskColor(0));
  });
});

describe('autoFocus', () => {
  it('descends single-group chains and stops at a fork or an endpoint', () => {
    const t = buildMapTree([ep('s', 'GET', '/v1/a/x', 1), ep('s', 'GET', '/v1/b/y', 1), ep('s', 'GET', '/v1/b/z', 1)]);
    const f = autoFocus(t, (n) => n.kind !== 'endpoint');
    expect(f.kind).toBe('prefix');
    expect(f.path).toBe('/v1');
    const single = buildMapTree([ep('s', 'GET', '/only', 1)]);
    expect(autoFocus(single, (n) => n.kind !== 'endpoint').kind).toBe('service');
  });
});

describe('filterEndpoints', () => {
  const eps = [ep('a', 'GET', '/v1/admin/export', 1, 100, { shadow: true, tags: ['export'] }), ep('a', 'GET', '/v1/items', 1, 5)];
  it('matches every word', () => {
    expect(filterEndpoints(eps, 'admin shadow', null).map((e) => e.template)).toEqual(['/v1/admin/export']);
    expect(filterEndpoints(eps, 'GET', null)).toHaveLength(2);
  });
  it('applies the minimum risk', () => expect(filterEndpoints(eps, '', 50)).toHaveLength(1));
});
