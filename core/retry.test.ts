import { describe, expect, it } from 'vitest';
import { backoffMs, retryUntil } from './retry.js';

describe('retry policy', () => {
  it('backs off exponentially up to the cap, a random share of it (full jitter)', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffMs(n, { initialMs: 100, maxMs: 1000 }, top))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    expect(backoffMs(3, { initialMs: 100, maxMs: 1000 }, () => 0)).toBe(0);
    expect(backoffMs(1, { initialMs: 100, maxMs: 1000 }, () => 0.5)).toBe(100);
    // Two instances that failed together wait different times.
    const waits = new Set(Array.from({ length: 20 }, () => backoffMs(4, { initialMs: 100, maxMs: 5000 })));
    expect(waits.size).toBeGreaterThan(1);
  });

  it('retries until the work succeeds, reporting the first failure and every n-th', async () => {
    const reported: number[] = [];
    let calls = 0;
    const value = await retryUntil(
      async () => {
        if (++calls < 5) throw new Error(`fail ${calls}`);
        return 'done';
      },
      { initialMs: 1, maxMs: 2, logEvery: 2, onError: (_e, n) => reported.push(n) },
    );
    expect(value).toBe('done');
    expect(calls).toBe(5);
    expect(reported).toEqual([0, 2]);
  });

  it('stops at once when aborted, also in the middle of a wait', async () => {
    const abort = new AbortController();
    let calls = 0;
    const started = Date.now();
    const run = retryUntil(
      async () => {
        calls++;
        throw new Error('down');
      },
      { initialMs: 60_000, maxMs: 60_000, signal: abort.signal, random: () => 1 },
    );
    setTimeout(() => abort.abort(), 20);
    expect(await run).toBeUndefined();
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
