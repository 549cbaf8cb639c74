import { isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BROWSER_USER_AGENTS, Population } from './population.js';

describe('the simulated users', () => {
  it('sends query i from the same user for the same seed', () => {
    const a = new Population('7', 5_000);
    const b = new Population('7', 5_000);
    for (let i = 0; i < 1_000; i++) expect(a.userOf(i)).toEqual(b.userOf(i));
  });

  it('spreads the queries over the whole population', () => {
    const p = new Population('7', 100);
    const seen = new Set<number>();
    for (let i = 0; i < 5_000; i++) seen.add(p.userOf(i).index);
    expect(seen.size).toBe(100);
  });

  it('gives each user one valid, distinct private address and a browser user agent', () => {
    const p = new Population('7', 1_000_000);
    const ips = new Set<string>();
    for (const index of [0, 1, 254, 255, 256, 65_535, 65_536, 999_999]) {
      const u = p.user(index);
      expect(isIPv4(u.ip)).toBe(true);
      expect(u.ip.startsWith('10.')).toBe(true);
      expect(BROWSER_USER_AGENTS).toContain(u.userAgent);
      expect(p.user(index)).toEqual(u);
      ips.add(u.ip);
    }
    expect(ips.size).toBe(8);
    expect(p.user(0).ip).toBe('10.0.0.1');
  });

  it('refuses an empty or too large population', () => {
    expect(() => new Population('7', 0)).toThrow(RangeError);
    expect(() => new Population('7', 1_000_001)).toThrow(RangeError);
  });
});
