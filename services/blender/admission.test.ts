import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('Admission', () => {
  it('admits up to the limit, refuses the next, and admits again once a place is free', () => {
    const a = new Admission({ maxLimit: 2 });
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(false);
    expect(a.refused).toBe(1);
    expect(a.inFlight).toBe(2);
    a.leave(1);
    expect(a.tryEnter()).toBe(true);
    expect(a.inFlight).toBe(2);
  });

  it('never counts below zero', () => {
    const a = new Admission({ maxLimit: 1 });
    a.leave(1);
    expect(a.inFlight).toBe(0);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(false);
  });

  /** One window in which the limit is reached, every request taking `ms`. */
  function congested(a: Admission, c: ReturnType<typeof clock>, ms: number): void {
    while (a.tryEnter()) {}
    c.advance(100);
    while (a.inFlight > 0) a.leave(ms);
  }

  /** One window with a single request in flight, taking `ms`. */
  function alone(a: Admission, c: ReturnType<typeof clock>, ms: number): void {
    expect(a.tryEnter()).toBe(true);
    c.advance(100);
    a.leave(ms);
  }

  it('shrinks the limit to 3/4 per congested window while requests are slower than the target, down to the floor', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 64, minLimit: 4, targetMs: 25, windowMs: 100, now: c.now });
    const limits: number[] = [];
    for (let w = 0; w < 12; w++) {
      congested(a, c, 40);
      limits.push(a.limit);
    }
    expect(limits.slice(0, 4)).toEqual([48, 36, 27, 20]);
    expect(limits.at(-1)).toBe(4);
  });

  it('leaves the limit alone when slow answers come at low concurrency (not overload)', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 64, minLimit: 4, targetMs: 25, windowMs: 100, now: c.now });
    // A GC pause, a busy neighbour: slow, but 1 in flight of 64.
    for (let w = 0; w < 10; w++) alone(a, c, 200);
    expect(a.limit).toBe(64);
    expect(a.refused).toBe(0);
  });

  it('grows the limit by one per window when it was reached and requests were fast, up to the maximum', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 6, minLimit: 2, targetMs: 25, windowMs: 100, now: c.now });
    // Slow congested windows bring it down to 2.
    for (let w = 0; w < 6; w++) congested(a, c, 50);
    expect(a.limit).toBe(2);
    // Fast windows at the limit bring it back up, one per window.
    const limits: number[] = [];
    for (let w = 0; w < 6; w++) {
      congested(a, c, 2);
      limits.push(a.limit);
    }
    // The first fast window still holds the last slow window's answers: it shrinks no further
    // (the floor), then each fast window at the limit adds one.
    expect(limits).toEqual([2, 3, 4, 5, 6, 6]);
  });

  it('grows back a quarter of the way to the headroom per fast window below the limit once the overload is over', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 64, minLimit: 8, targetMs: 25, windowMs: 100, now: c.now });
    for (let w = 0; w < 12; w++) congested(a, c, 50);
    expect(a.limit).toBe(8);
    const seen: number[] = [];
    for (let w = 0; w < 12; w++) {
      alone(a, c, 1);
      seen.push(a.limit);
    }
    // The first window still averages the slow answers of the last congested one; then a quarter
    // of the gap to the headroom (32 by default), at least one, per window.
    expect(seen).toEqual([8, 14, 18, 21, 23, 25, 26, 27, 28, 29, 30, 31]);
  });

  it('settles an unused limit at the headroom, and at twice the use when the use is higher', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 64, minLimit: 4, targetMs: 25, windowMs: 100, now: c.now });
    expect(a.limit).toBe(64);
    for (let w = 0; w < 30; w++) alone(a, c, 1);
    expect(a.limit).toBe(32);
    // Windows with 24 in flight, fast: the limit goes to 48.
    for (let w = 0; w < 30; w++) {
      for (let i = 0; i < 24; i++) expect(a.tryEnter()).toBe(true);
      c.advance(100);
      for (let i = 0; i < 24; i++) a.leave(2);
    }
    expect(a.limit).toBe(48);
    expect(a.refused).toBe(0);
  });

  it('grows by an eighth per window that reached the limit with answers under half the target', () => {
    const c = clock();
    const a = new Admission({
      maxLimit: 100,
      minLimit: 4,
      targetMs: 25,
      windowMs: 100,
      now: c.now,
      headroom: 40,
    });
    for (let w = 0; w < 30; w++) alone(a, c, 1);
    expect(a.limit).toBe(40);
    const seen: number[] = [];
    for (let w = 0; w < 3; w++) {
      congested(a, c, 5);
      seen.push(a.limit);
    }
    expect(seen).toEqual([45, 50, 56]);
    // Between half the target and the target: one a window (the first such window still holds
    // the last fast window's answers, so it grows by an eighth once more).
    congested(a, c, 20);
    expect(a.limit).toBe(63);
    congested(a, c, 20);
    expect(a.limit).toBe(64);
  });

  it('does not grow below the limit while answers are slow', () => {
    const c = clock();
    const a = new Admission({ maxLimit: 10, minLimit: 2, targetMs: 25, windowMs: 100, now: c.now });
    for (let w = 0; w < 3; w++) congested(a, c, 50);
    // One more window lets the slow answers still in flight from the last one land.
    alone(a, c, 40);
    const low = a.limit;
    expect(low).toBeLessThan(10);
    for (let w = 0; w < 5; w++) alone(a, c, 40);
    expect(a.limit).toBe(low);
  });

  describe('a stall at a steady rate', () => {
    /**
     * Traffic at `perMs` arrivals a ms, each answered `serviceMs` after it came in, for `ms`; with
     * `stalled`, nothing is answered (the engine stalls) while arrivals go on. Returns how many
     * were refused.
     */
    function traffic(
      a: Admission,
      c: ReturnType<typeof clock>,
      admitted: number[],
      o: { perMs: number; serviceMs: number; ms: number; stalled?: boolean },
    ): number {
      let refused = 0;
      for (let t = 0; t < o.ms; t++) {
        c.advance(1);
        if (!o.stalled)
          while (admitted.length > 0 && c.now() - admitted[0]! >= o.serviceMs) {
            a.leave(c.now() - admitted.shift()!);
          }
        for (let i = 0; i < o.perMs; i++) {
          if (a.tryEnter()) admitted.push(c.now());
          else refused++;
        }
      }
      return refused;
    }

    /** An admission limit settled at the headroom (32) under 1,000 requests a second of 5 ms each. */
    function settled() {
      const c = clock();
      const a = new Admission({ maxLimit: 64, minLimit: 8, targetMs: 20, windowMs: 100, now: c.now });
      const admitted: number[] = [];
      expect(traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 3000 })).toBe(0);
      expect(a.limit).toBe(32);
      return { a, c, admitted };
    }

    it('admits above the limit, up to the maximum, while the arrivals stay at their rate', () => {
      const { a, c, admitted } = settled();
      // 40 ms in which nothing is answered: 45 in flight, above the limit of 32.
      expect(traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 40, stalled: true })).toBe(0);
      expect(a.inFlight).toBeGreaterThan(40);
      expect(a.overLimit).toBe(a.inFlight - 32);
      // The engine answers again: nothing was refused, and the limit is back in force.
      expect(traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 1000 })).toBe(0);
      expect(a.refused).toBe(0);
      expect(a.inFlight).toBeLessThanOrEqual(a.limit);
      // A stall longer than the maximum allows: never more than 64 in flight, the rest refused.
      const refused = traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 100, stalled: true });
      expect(a.inFlight).toBe(64);
      expect(refused).toBeGreaterThan(0);
    });

    it('refuses at the limit when the rate jumps, with at most a few let in above it', () => {
      const { a, c, admitted } = settled();
      // Four times the rate while the engine answers nothing: 5 in flight plus 4 a ms.
      const refused = traffic(a, c, admitted, { perMs: 4, serviceMs: 5, ms: 40, stalled: true });
      expect(refused).toBeGreaterThan(100);
      expect(a.inFlight).toBeLessThanOrEqual(32 + 4);
      expect(a.overLimit).toBe(a.inFlight - 32);
    });

    it('takes the bunch after a short stall of the blender itself as steady, and one after a long stall as a jump', () => {
      const { a, c, admitted } = settled();
      // Up to 40 in flight, then 15 ms in which the blender ran nothing: its 15 requests come in at once.
      traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 35, stalled: true });
      c.advance(15);
      for (let i = 0; i < 15; i++) expect(a.tryEnter()).toBe(true);
      expect(a.overLimit).toBe(a.inFlight - 32);
      // After 40 ms, the 40 that waited are too many at once for the recent rate.
      const { a: b, c: d } = settled();
      d.advance(40);
      let refused = 0;
      for (let i = 0; i < 40; i++) if (!b.tryEnter()) refused++;
      expect(refused).toBeGreaterThan(0);
    });

    it('lets none in above the limit for calmMs after a refusal', () => {
      const { a, c, admitted } = settled();
      traffic(a, c, admitted, { perMs: 4, serviceMs: 5, ms: 40, stalled: true });
      const over = a.overLimit;
      // Back to the steady rate: the backlog drains, then a stall half a second after the
      // refusal is refused at the limit.
      traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 400 });
      expect(traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 40, stalled: true })).toBeGreaterThan(0);
      expect(a.overLimit).toBe(over);
      expect(a.inFlight).toBe(a.limit);
      // Calm for more than a second: a stall is let through again.
      traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 1500 });
      const refusedBefore = a.refused;
      traffic(a, c, admitted, { perMs: 1, serviceMs: 5, ms: 40, stalled: true });
      expect(a.refused).toBe(refusedBefore);
      expect(a.overLimit).toBeGreaterThan(over);
    });
  });
});
