import { describe, expect, it } from 'vitest';
import { rngOf } from '../../test/helpers/searcher-fixture.js';
import { RateWindow } from './rate-window.js';

/** The rules, written the plain way: per key its attempts' times, keys in least-recently-touched order. */
class ModelWindow {
  private readonly attempts = new Map<string, number[]>();
  evicted = 0;
  constructor(private readonly maxKeys: number) {}

  overLimit(key: string, nowMs: number, max: number, windowMs: number): boolean {
    if (max <= 0) return false;
    let times = this.attempts.get(key);
    if (times === undefined) {
      if (this.attempts.size >= this.maxKeys) {
        const idlest = this.attempts.keys().next().value!;
        this.attempts.delete(idlest);
        this.evicted++;
      }
      times = [];
    } else this.attempts.delete(key); // re-inserted below: most recently touched
    this.attempts.set(key, times);
    const kept = times.slice(-max);
    const over = kept.length === max && nowMs - kept[0]! < windowMs;
    times.push(nowMs);
    if (times.length > max) times.splice(0, times.length - max);
    return over;
  }

  get size(): number {
    return this.attempts.size;
  }
}

describe('RateWindow', () => {
  it('limits to max attempts per window, counting rejected attempts too', () => {
    const w = new RateWindow(10);
    expect(w.overLimit('a', 0, 2, 1000)).toBe(false);
    expect(w.overLimit('a', 10, 2, 1000)).toBe(false);
    expect(w.overLimit('a', 20, 2, 1000)).toBe(true);
    expect(w.overLimit('a', 1005, 2, 1000)).toBe(true); // the attempt at 20 is still inside
    expect(w.overLimit('a', 2100, 2, 1000)).toBe(false);
    expect(w.overLimit('b', 2100, 2, 1000)).toBe(false);
  });

  it('drops the key idle longest when full', () => {
    const w = new RateWindow(2);
    w.overLimit('a', 0, 1, 1000);
    w.overLimit('b', 1, 1, 1000);
    w.overLimit('a', 2, 1, 1000); // a touched: b is now the idlest
    w.overLimit('c', 3, 1, 1000);
    expect(w.size).toBe(2);
    expect(w.evicted).toBe(1);
    expect(w.overLimit('a', 4, 1, 1000)).toBe(true); // a kept its attempts
    expect(w.overLimit('b', 5, 1, 1000)).toBe(false); // b was forgotten
  });

  it('answers as the plain model under random attempts, evictions and changes of max', () => {
    for (const seed of [1, 2, 3, 4]) {
      const next = rngOf(seed); // seeded, so a failure replays
      const maxKeys = 1 + Math.floor(next() * 3000); // past the first capacity, some runs full
      const w = new RateWindow(maxKeys);
      const model = new ModelWindow(maxKeys);
      let now = 0;
      let max = 1 + Math.floor(next() * 8);
      for (let i = 0; i < 40_000; i++) {
        if (next() < 0.0005) max = Math.floor(next() * 12); // 0 turns the limit off
        now += Math.floor(next() * 5);
        const key = `k${Math.floor(next() ** 2 * 4000)}`;
        const windowMs = 50 + Math.floor(next() * 200);
        const got = w.overLimit(key, now, max, windowMs);
        const want = model.overLimit(key, now, max, windowMs);
        if (got !== want) throw new Error(`seed ${seed}, attempt ${i}: ${key} got ${got}, want ${want}`);
      }
      expect(w.size).toBe(model.size);
      expect(w.evicted).toBe(model.evicted);
    }
  });
});
