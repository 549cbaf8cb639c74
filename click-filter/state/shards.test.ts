import { describe, expect, it } from 'vitest';
import { SHARDS, shardOf } from './shards.js';

describe('shardOf', () => {
  it('spreads click ids, addresses and user keys over every shard', () => {
    const kinds = [
      (i: number) => `c${i.toString(36).padStart(21, 'x')}`,
      (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      (i: number) => `u:${i}`,
    ];
    for (const key of kinds) {
      const counts = new Array<number>(SHARDS).fill(0);
      for (let i = 0; i < 16_000; i++) counts[shardOf(key(i))]!++;
      const mean = 16_000 / SHARDS;
      expect(Math.min(...counts)).toBeGreaterThan(mean * 0.7);
      expect(Math.max(...counts)).toBeLessThan(mean * 1.3);
    }
  });

  it('is the same for the same key', () => {
    expect(shardOf('203.0.113.66')).toBe(shardOf('203.0.113.66'));
    expect(shardOf('')).toBeGreaterThanOrEqual(0);
  });
});
