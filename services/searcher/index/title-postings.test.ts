import { describe, expect, it } from 'vitest';
import { rngOf } from '../../../test/helpers/searcher-fixture.js';
import { TitlePostings } from './title-postings.js';

const slotsOf = (p: TitlePostings, token: string) => [...(p.postings(token) ?? [])].sort((a, b) => a - b);

describe('TitlePostings', () => {
  it('lists each slot once under each distinct token of its title', () => {
    const p = new TitlePostings();
    p.add(0, 'red running shoes');
    p.add(1, 'shoes shoes red');
    p.add(2, '');
    expect(slotsOf(p, 'shoes')).toEqual([0, 1]);
    expect(slotsOf(p, 'red')).toEqual([0, 1]);
    expect(slotsOf(p, 'running')).toEqual([0]);
    expect(p.postings('blue')).toBeUndefined();
    expect(p.tokens).toBe(3);
  });

  it('removes a slot under the tokens of the title it was added with (padded or not)', () => {
    const p = new TitlePostings();
    p.add(0, 'red running shoes');
    p.add(1, 'red shoes');
    p.remove(0, ' red running shoes ');
    expect(slotsOf(p, 'red')).toEqual([1]);
    expect(p.postings('running')).toBeUndefined();
    expect(p.tokens).toBe(2);
  });

  it('stays equal to a model through random adds, removes and a compaction', () => {
    const rnd = rngOf(5);
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const titles = new Map<number, string>();
    const p = new TitlePostings();
    for (let step = 0; step < 20_000; step++) {
      const slot = Math.floor(rnd() * 500);
      const old = titles.get(slot);
      if (old !== undefined) {
        p.remove(slot, old);
        titles.delete(slot);
      }
      if (rnd() < 0.7) {
        const n = 1 + Math.floor(rnd() * 5);
        const title = Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(' ');
        p.add(slot, title);
        titles.set(slot, title);
      }
      if (step === 10_000) p.compact();
    }
    for (const w of words) {
      const expected = [...titles].filter(([, t]) => t.split(' ').includes(w)).map(([s]) => s);
      expect(slotsOf(p, w), w).toEqual(expected.sort((a, b) => a - b));
    }
  });
});
