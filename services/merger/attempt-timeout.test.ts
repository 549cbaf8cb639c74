import { describe, expect, it } from 'vitest';
import { AttemptTimeouts } from './attempt-timeout.js';

describe('AttemptTimeouts', () => {
  it('uses the floor while the column is fast or unmeasured', () => {
    const t = new AttemptTimeouts({ floorMs: 50 });
    expect(t.timeoutMs(0, 100, true)).toBe(50);
    for (let i = 0; i < 300; i++) t.observe(0, 2);
    expect(t.p99Ms(0)).toBe(2);
    expect(t.timeoutMs(0, 100, true)).toBe(50);
  });

  it('grows to a multiple of the recent p99 when the column is slow, within the remaining time', () => {
    const t = new AttemptTimeouts({ floorMs: 50, p99Multiple: 4 });
    for (let i = 0; i < 300; i++) t.observe(1, i % 20 === 0 ? 30 : 20);
    expect(t.p99Ms(1)).toBe(30);
    expect(t.timeoutMs(1, 1_000, true)).toBe(120);
    expect(t.timeoutMs(1, 90, true)).toBe(90);
    // Columns are measured apart.
    expect(t.timeoutMs(0, 1_000, true)).toBe(50);
  });

  it('follows the column back down once it is fast again', () => {
    const t = new AttemptTimeouts({ floorMs: 10 });
    for (let i = 0; i < 256; i++) t.observe(0, 40);
    expect(t.timeoutMs(0, 1_000, true)).toBe(160);
    for (let i = 0; i < 256; i++) t.observe(0, 1);
    expect(t.timeoutMs(0, 1_000, true)).toBe(10);
  });

  it('gives the whole remaining time when no retry could follow', () => {
    const t = new AttemptTimeouts({ floorMs: 50 });
    expect(t.timeoutMs(0, 87, false)).toBe(87);
    expect(t.timeoutMs(0, 0, false)).toBe(1);
  });
});
