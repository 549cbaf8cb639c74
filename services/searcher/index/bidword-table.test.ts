import { describe, expect, it } from 'vitest';
import { rngOf } from '../../../test/helpers/searcher-fixture.js';
import { BidwordTable, matchCodeOf, PENDING } from './bidword-table.js';

function add(t: BidwordTable, id: string, keyword = 'red shoes'): number {
  return t.add(id, matchCodeOf('phrase'), 1_500_000, 2, keyword, keyword, keyword);
}

describe('BidwordTable', () => {
  it('holds every field of a bidword and finds it by id', () => {
    const t = new BidwordTable();
    const h = t.add('b1', matchCodeOf('broad'), 2_000_000, 2, 'Shoes Red', 'shoes red', 'red shoes');
    expect(t.find('b1')).toBe(h);
    expect(t.find('b2')).toBe(-1);
    expect(t.id(h)).toBe('b1');
    expect(t.matchType(h)).toBe('broad');
    expect(t.negative(h)).toBe(false);
    expect(t.bidOf(h)).toBe(2_000_000);
    expect(t.tokenCountOf(h)).toBe(2);
    expect([t.keyword(h), t.norm(h), t.key(h)]).toEqual(['Shoes Red', 'shoes red', 'red shoes']);
    expect(t.offerSlotOf(h)).toBe(PENDING);
    const n = t.add('b2', matchCodeOf('negative-phrase'), 0, 1, 'cheap', 'cheap', 'cheap');
    expect(t.negative(n)).toBe(true);
    expect(t.matchType(n)).toBe('negative-phrase');
  });

  it('refuses an unknown match type', () => {
    expect(() => matchCodeOf('fuzzy')).toThrow(/unknown match type/);
  });

  it('removes, reuses handles, and drops the texts no bidword holds', () => {
    const t = new BidwordTable();
    const a = add(t, 'b1', 'alpha');
    add(t, 'b2', 'beta');
    expect(t.id(a)).toBe('b1'); // its id string is now kept: a reused handle must not return it
    t.remove(a);
    expect(t.find('b1')).toBe(-1);
    expect(t.size).toBe(1);
    expect(t.strings.size).toBe(1);
    const c = add(t, 'b3', 'gamma');
    expect(c).toBe(a);
    expect(t.id(c)).toBe('b3');
    expect(t.find('b3')).toBe(c);
    expect(t.find('b2')).toBeGreaterThanOrEqual(0);
  });

  it('stays equal to a Map through many adds and removes (rehashes, tombstones, id compaction, trim)', () => {
    const rnd = rngOf(3);
    const t = new BidwordTable();
    const model = new Map<string, number>();
    for (let step = 0; step < 100_000; step++) {
      const id = `b${Math.floor(rnd() * 20_000)}${rnd() < 0.1 ? '.long-suffix-id' : ''}`;
      const held = t.find(id);
      expect(held >= 0).toBe(model.has(id));
      if (held >= 0) {
        t.remove(held);
        model.delete(id);
      } else {
        model.set(id, add(t, id, `kw${step % 300}`));
      }
      if (step === 50_000) t.trim(); // gives back spare room mid-way: later adds grow it again
    }
    expect(t.size).toBe(model.size);
    for (const [id, h] of model) {
      expect(t.find(id)).toBe(h);
      expect(t.id(h)).toBe(id);
    }
    expect(t.strings.size).toBeLessThanOrEqual(300);
  });

  it('orders ids as JavaScript compares strings, non-ASCII ones included', () => {
    const t = new BidwordTable();
    const ids = ['b10', 'b9', 'b1', 'B1', 'b1_x', 'é1', 'b\u00ff', 'b\u{1f600}', 'b\uffff', 'b'];
    const handles = ids.map((id) => add(t, id));
    for (let i = 0; i < ids.length; i++) {
      expect(t.find(ids[i]!)).toBe(handles[i]);
      for (let j = 0; j < ids.length; j++) {
        const expected = ids[i]! < ids[j]! ? -1 : ids[i]! > ids[j]! ? 1 : 0;
        expect(Math.sign(t.compareIds(handles[i]!, handles[j]!)), `${ids[i]} vs ${ids[j]}`).toBe(expected);
      }
    }
  });
});
