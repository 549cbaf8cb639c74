import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

describe('Admission', () => {
  it('admits up to the limit, refuses the next, and admits again once a place is free', () => {
    const a = new Admission(2);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(false);
    expect(a.refused).toBe(1);
    expect(a.inFlight).toBe(2);
    a.leave();
    expect(a.tryEnter()).toBe(true);
    expect(a.inFlight).toBe(2);
  });

  it('never counts below zero', () => {
    const a = new Admission(1);
    a.leave();
    expect(a.inFlight).toBe(0);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(false);
  });
});
