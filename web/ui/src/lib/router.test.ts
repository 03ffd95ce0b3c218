import { describe, expect, it } from 'vitest';
import { appPath, match } from '../router';

describe('match', () => {
  it('matches static and parameter segments', () => {
    expect(match('/traces/:id', '/traces/153ad5b5')).toEqual({ id: '153ad5b5' });
    expect(match('/rules/:id', '/rules/a%2Fb')).toEqual({ id: 'a/b' });
    expect(match('/', '/')).toEqual({});
    expect(match('/map', '/map/')).toEqual({});
  });
  it('refuses other paths', () => {
    expect(match('/traces/:id', '/traces')).toBeNull();
    expect(match('/traces/:id', '/rules/x')).toBeNull();
  });
});

describe('appPath', () => {
  const base = 'https://th.example/ips?status=blocked';
  it('keeps paths of the app', () => {
    expect(appPath('/map?only=shadow#x', base)).toBe('/map?only=shadow#x');
    expect(appPath('?ip=1.2.3.4', base)).toBe('/ips?ip=1.2.3.4');
  });
  it('refuses to leave the origin', () => {
    expect(appPath('//evil.example/x', base)).toBe('/');
    expect(appPath('/\\evil.example', base)).toBe('/');
    expect(appPath('https://evil.example/', base)).toBe('/');
    expect(appPath('javascript:alert(1)', base)).toBe('/');
  });
});
