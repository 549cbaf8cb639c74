import { describe, expect, it } from 'vitest';
import { rngOf } from '../../../test/helpers/searcher-fixture.js';
import { ListArena } from './list-arena.js';

describe('ListArena', () => {
  it('pushes, inserts and removes in order', () => {
    const a = new ListArena();
    const l = a.create();
    a.push(l, 10);
    a.push(l, 30);
    a.insert(l, 1, 20);
    a.insert(l, 0, 5);
    expect([...a.view(l)]).toEqual([5, 10, 20, 30]);
    expect(a.indexOf(l, 20)).toBe(2);
    expect(a.indexOf(l, 99)).toBe(-1);
    a.removeAt(l, 0);
    a.removeAt(l, 2);
    expect([...a.view(l)]).toEqual([10, 20]);
  });

  it('keeps every list equal to a model through random growth, moves, drops and compaction', () => {
    const rnd = rngOf(7);
    const a = new ListArena();
    const model = new Map<number, number[]>();
    let value = 0;
    for (let step = 0; step < 60_000; step++) {
      const r = rnd();
      const ids = [...model.keys()];
      if (ids.length === 0 || r < 0.05) {
        model.set(a.create(), []);
        continue;
      }
      const l = ids[Math.floor(rnd() * ids.length)]!;
      const list = model.get(l)!;
      if (r < 0.07) {
        a.drop(l);
        model.delete(l);
      } else if (r < 0.5) {
        a.push(l, ++value);
        list.push(value);
      } else if (r < 0.8) {
        const at = Math.floor(rnd() * (list.length + 1));
        a.insert(l, at, ++value);
        list.splice(at, 0, value);
      } else if (list.length > 0) {
        const at = Math.floor(rnd() * list.length);
        a.removeAt(l, at);
        list.splice(at, 1);
      }
      if (step % 20_000 === 19_999) a.compact();
    }
    expect(a.size).toBe(model.size);
    expect(model.size).toBeGreaterThan(50);
    for (const [l, list] of model) expect([...a.view(l)]).toEqual(list);
  });

  it('removes a value by value, drops the list it empties, and says which', () => {
    const a = new ListArena();
    const l = a.create();
    a.push(l, 7);
    a.push(l, 8);
    expect(a.remove(l, 9)).toBe('absent');
    expect(a.remove(l, 7)).toBe('removed');
    expect([...a.view(l)]).toEqual([8]);
    expect(a.remove(l, 8)).toBe('dropped');
    expect(a.size).toBe(0);
  });

  it('gives a dropped list id out again, empty', () => {
    const a = new ListArena();
    const l = a.create();
    a.push(l, 1);
    a.drop(l);
    const m = a.create();
    expect(m).toBe(l);
    expect(a.view(m).length).toBe(0);
  });
});
