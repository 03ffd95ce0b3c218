import { describe, expect, it } from 'vitest';
import { roleAllows } from '../hooks';
import type { Me } from './types';

const me = (role: Me['role'], auth = true): Me => ({ kind: 'user', name: 'x', role, auth_enabled: auth });

describe('roleAllows', () => {
  it('orders viewer < analyst < admin', () => {
    expect(roleAllows(me('viewer'), 'analyst')).toBe(false);
    expect(roleAllows(me('analyst'), 'analyst')).toBe(true);
    expect(roleAllows(me('analyst'), 'admin')).toBe(false);
    expect(roleAllows(me('admin'), 'viewer')).toBe(true);
  });
  it('refuses an unknown role', () => expect(roleAllows(me(''), 'viewer')).toBe(false));
  it('allows everything when the server has no authentication', () => expect(roleAllows(me('', false), 'admin')).toBe(true));
});
