import { describe, expect, it } from 'vitest';
import { apiQuery, decodeQuery, encodeQuery, withQuery } from './query';

const schema = {
  status: { kind: 'list', default: ['open', 'investigating'] },
  q: { kind: 'string' },
  only: { kind: 'enum', values: ['', 'shadow', 'zombie'], default: '' },
  minRisk: { kind: 'number', min: 0, max: 100 },
  desc: { kind: 'bool', default: true },
} as const;

describe('decodeQuery', () => {
  it('gives the defaults for an empty query', () => {
    expect(decodeQuery(schema, '')).toEqual({ status: ['open', 'investigating'], q: '', only: '', minRisk: null, desc: true });
  });
  it('reads every kind', () => {
    const v = decodeQuery(schema, '?status=resolved,false_positive&q=%2Fadmin%2Fexport&only=shadow&minRisk=40&desc=0');
    expect(v).toEqual({ status: ['resolved', 'false_positive'], q: '/admin/export', only: 'shadow', minRisk: 40, desc: false });
  });
  it('falls back to the default on bad values', () => {
    const v = decodeQuery(schema, 'only=everything&minRisk=101&desc=maybe');
    expect(v.only).toBe('');
    expect(v.minRisk).toBeNull();
    expect(v.desc).toBe(true);
  });
  it('reads repeated list keys', () => {
    expect(decodeQuery(schema, 'status=open&status=resolved').status).toEqual(['open', 'resolved']);
  });
});

describe('encodeQuery', () => {
  it('leaves defaults out', () => {
    expect(encodeQuery(schema, { status: ['open', 'investigating'], q: '', only: '', minRisk: null, desc: true })).toBe('');
  });
  it('round-trips through decodeQuery', () => {
    const v = { status: ['resolved'], q: 'GET /v1/admin/export', only: 'shadow', minRisk: 0, desc: false };
    const s = encodeQuery(schema, v);
    expect(s).toBe('status=resolved&q=GET+%2Fv1%2Fadmin%2Fexport&only=shadow&minRisk=0&desc=0');
    expect(decodeQuery(schema, s)).toEqual(v);
  });
  it('keeps keys the schema does not own', () => {
    expect(encodeQuery(schema, { q: 'x' }, '?q=old&ep=abc')).toBe('q=x&ep=abc');
  });
  it('an empty list is the default, not an empty filter', () => {
    expect(encodeQuery(schema, { status: [] })).toBe('');
  });
});

describe('helpers', () => {
  it('withQuery', () => {
    expect(withQuery('/ips', '')).toBe('/ips');
    expect(withQuery('/ips', 'status=blocked')).toBe('/ips?status=blocked');
  });
  it('apiQuery drops empty parameters and joins lists', () => {
    expect(apiQuery({ status: ['open', 'investigating'], ip: '', limit: 50, desc: false, sort: undefined })).toBe('?status=open%2Cinvestigating&limit=50');
    expect(apiQuery({})).toBe('');
  });
});
