import { describe, expect, it } from 'vitest';
import { columnOf, fnv1a32 } from './partition.js';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII ids (2-, 3- and 4-byte characters, lone surrogates)', () => {
    const reference = (s: string) => {
      let h = 0x811c9dc5;
      for (const byte of Buffer.from(s, 'utf8')) h = Math.imul(h ^ byte, 0x01000193);
      return h >>> 0;
    };
    for (const s of ['é', 'offer-ü-1', '商品42', '😀x', 'a\ud800b', '\udc00'])
      expect(fnv1a32(s)).toBe(reference(s));
  });
});

describe('columnOf', () => {
  it('is stable: these assignments must never change for a deployed index', () => {
    expect(['o1', 'o2', 'o3', 'o4', 'o5', 'o6'].map((id) => columnOf(id, 4))).toEqual(
      ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'].map((id) => fnv1a32(id) % 4),
    );
    expect(columnOf('o1', 1)).toBe(0);
  });

  it('spreads generated ids evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[columnOf(`o${i}`, 4)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('rejects a column count below 1', () => {
    expect(() => columnOf('o1', 0)).toThrow(RangeError);
  });
});
