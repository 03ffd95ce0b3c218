import { describe, expect, it } from 'vitest';
import { LineSplitter, parseLine } from './ndjson';

describe('LineSplitter', () => {
  it('returns complete lines and keeps the partial one', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}\n')).toEqual(['{"b":2}']);
    expect(s.push('')).toEqual([]);
    expect(s.end()).toEqual([]);
  });
  it('drops empty lines and carriage returns', () => {
    const s = new LineSplitter();
    expect(s.push('x\r\n\n  \ny\n')).toEqual(['x', 'y']);
  });
  it('ends with a last line without newline', () => {
    const s = new LineSplitter();
    expect(s.push('{"result":{}}')).toEqual([]);
    expect(s.end()).toEqual(['{"result":{}}']);
    expect(s.end()).toEqual([]);
  });
  it('splits a line cut anywhere, one character at a time', () => {
    const text = '{"progress":{"phase":"count"}}\n{"result":{"rows_excluded":5722}}\n';
    const s = new LineSplitter();
    const got: string[] = [];
    for (const ch of text) got.push(...s.push(ch));
    expect(got.map((l) => JSON.parse(l))).toEqual([{ progress: { phase: 'count' } }, { result: { rows_excluded: 5722 } }]);
  });
});

describe('parseLine', () => {
  it('decodes JSON and turns anything else into an error', () => {
    expect(parseLine('{"a":1}')).toEqual({ a: 1 });
    expect(parseLine('<html>')).toMatchObject({ error: { code: 'bad_stream' } });
  });
});
