import { describe, expect, it } from 'vitest';
import {
  formatBytes, formatCompact, formatCount, formatDay, formatDuration, formatMs, formatPercent,
  formatRelative, formatTime, parseGoDuration, shortDuration,
} from './format';

describe('formatBytes', () => {
  const cases: [number | null, string][] = [
    [0, '0 B'], [999, '999 B'], [1000, '1.0 KB'], [1536, '1.5 KB'], [188095, '188 KB'],
    [2746747103, '2.7 GB'], [999_960, '1.0 MB'], [-2048, '-2.0 KB'], [null, '–'],
  ];
  for (const [n, want] of cases) it(`formatBytes(${n}) = ${want}`, () => expect(formatBytes(n)).toBe(want));
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [850, '850 ns'], [12_400, '12 µs'], [2_340_000, '2.3 ms'], [384_124_000, '384 ms'],
    [1_500_000_000, '1.5 s'], [200e9, '3m 20s'], [180e9, '3m'], [4 * 3600e9 + 5 * 60e9, '4h 5m'],
    [3 * 86400e9 + 4 * 3600e9, '3d 4h'], [-2e6, '-2 ms'],
  ];
  for (const [ns, want] of cases) it(`formatDuration(${ns}) = ${want}`, () => expect(formatDuration(ns)).toBe(want));
  it('formatMs takes milliseconds', () => expect(formatMs(882.753)).toBe('883 ms'));
});

describe('counts', () => {
  it('formatCount separates thousands', () => expect(formatCount(14603)).toBe('14,603'));
  it('formatCount rounds', () => expect(formatCount(2.6)).toBe('3'));
  const compact: [number, string][] = [[950, '950'], [1234, '1.2k'], [175045, '175k'], [999_600, '1M'], [3_400_000, '3.4M']];
  for (const [n, want] of compact) it(`formatCompact(${n}) = ${want}`, () => expect(formatCompact(n)).toBe(want));
  it('formatPercent', () => {
    expect(formatPercent(0.0312)).toBe('3.1%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0)).toBe('0%');
  });
});

describe('times', () => {
  it('formatTime writes UTC to the second', () => expect(formatTime('2026-11-28T10:56:37.653596Z')).toBe('2026-11-28 10:56:37'));
  it('formatTime leaves zero times blank', () => {
    expect(formatTime('0001-01-01T00:00:00Z')).toBe('–');
    expect(formatTime('')).toBe('–');
  });
  it('formatDay', () => expect(formatDay('2026-11-25T02:31:00Z')).toBe('Wed 25 Nov'));
  const now = Date.parse('2026-11-28T12:00:00Z');
  const rel: [string, string][] = [
    ['2026-11-28T11:59:58Z', 'just now'], ['2026-11-28T11:59:18Z', '42 s ago'], ['2026-11-28T11:55:00Z', '5 min ago'],
    ['2026-11-28T09:00:00Z', '3 h ago'], ['2026-11-26T12:00:00Z', '2 d ago'], ['2026-11-28T13:00:00Z', 'in 1 h'],
  ];
  for (const [t, want] of rel) it(`formatRelative(${t}) = ${want}`, () => expect(formatRelative(t, now)).toBe(want));
});

describe('Go durations', () => {
  it('parses compound durations', () => {
    expect(parseGoDuration('5m0s')).toBe(300e9);
    expect(parseGoDuration('1h30m')).toBe(5400e9);
    expect(parseGoDuration('300ms')).toBe(300e6);
    expect(parseGoDuration('-2s')).toBe(-2e9);
  });
  it('refuses what is not a duration', () => {
    expect(parseGoDuration('5 minutes')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
  });
  it('shortDuration', () => {
    expect(shortDuration('5m0s')).toBe('5m');
    expect(shortDuration('1h0m0s')).toBe('1h');
    expect(shortDuration('weird')).toBe('weird');
  });
});
