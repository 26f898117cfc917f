import { describe, expect, it } from 'vitest';
import { isInNetworks, parseNetworks } from './networks.ts';

describe('network allow-lists', () => {
  const nets = parseNetworks('10.0.0.0/8, 192.168.1.7, 2001:db8::/32');
  it('matches addresses inside a CIDR or equal to a single address', () => {
    expect(isInNetworks('10.20.30.40', nets)).toBe(true);
    expect(isInNetworks('192.168.1.7', nets)).toBe(true);
    expect(isInNetworks('2001:db8::1', nets)).toBe(true);
  });
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(isInNetworks('::ffff:10.1.2.3', nets)).toBe(true);
    expect(isInNetworks('::ffff:11.1.2.3', nets)).toBe(false);
  });
  it('refuses addresses outside, and garbage', () => {
    expect(isInNetworks('192.168.1.8', nets)).toBe(false);
    expect(isInNetworks('2001:db9::1', nets)).toBe(false);
    expect(isInNetworks('not-an-ip', nets)).toBe(false);
    expect(isInNetworks(undefined, nets)).toBe(false);
  });
  it('names a bad entry', () => {
    expect(() => parseNetworks('10.0.0.0/8,10.0.0.300')).toThrow(/"10\.0\.0\.300"/);
    expect(() => parseNetworks('10.0.0.0/40')).toThrow(/10\.0\.0\.0\/40/);
  });
});
