import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('gives records back in the order pushed, across growth and wrap-around', () => {
    const q = new Fifo();
    const expected: [string, number][] = [];
    let next = 0;
    const out: [string, number][] = [];
    // Interleaved pushes and shifts, so the head wraps before the arrays grow (1024 at first).
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 900 * (round + 1); i++) {
        q.push(`k${next}`, next);
        expected.push([`k${next}`, next]);
        next++;
      }
      for (let i = 0; i < 700; i++) {
        out.push([q.peekKey()!, q.peekValue()]);
        q.shift();
      }
    }
    while (q.length > 0) {
      out.push([q.peekKey()!, q.peekValue()]);
      q.shift();
    }
    expect(out).toEqual(expected);
    expect(q.peekKey()).toBeUndefined();
    expect(q.peekValue()).toBeNaN();
    q.shift();
    expect(q.length).toBe(0);
  });
});
