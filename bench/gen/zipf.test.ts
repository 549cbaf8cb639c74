import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { allocate, WeightedTable, zipfTable, zipfWeights } from './zipf.js';

describe('skewed distributions', () => {
  it('draws indexes in proportion to their weights', () => {
    const table = new WeightedTable([1, 2, 7]);
    const rng = Rng.fromSeed('weights');
    const counts = [0, 0, 0];
    for (let i = 0; i < 50_000; i++) counts[table.sample(rng)]! += 1;
    expect(counts[0]! / 50_000).toBeCloseTo(0.1, 1);
    expect(counts[1]! / 50_000).toBeCloseTo(0.2, 1);
    expect(counts[2]! / 50_000).toBeCloseTo(0.7, 1);
    expect(table.probability(2)).toBeCloseTo(0.7, 10);
  });

  it('never draws an index of weight zero', () => {
    const table = new WeightedTable([0, 1, 0, 1]);
    const rng = Rng.fromSeed('zero');
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(table.sample(rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('rejects tables that cannot be sampled', () => {
    expect(() => new WeightedTable([])).toThrow(RangeError);
    expect(() => new WeightedTable([0, 0])).toThrow(RangeError);
    expect(() => new WeightedTable([1, Number.NaN])).toThrow(RangeError);
  });

  it('makes Zipf ranks fall off as a power law (rank 1 twice as likely as rank 2 when s = 1)', () => {
    const w = zipfWeights(1000, 1);
    expect(w[0]! / w[1]!).toBeCloseTo(2, 10);
    const table = zipfTable(1000, 1);
    const rng = Rng.fromSeed('zipf');
    let head = 0;
    for (let i = 0; i < 20_000; i++) if (table.sample(rng) < 10) head++;
    // H(10) / H(1000) = 2.929 / 7.485 = 39% of draws land in the top 1% of ranks.
    expect(head / 20_000).toBeCloseTo(0.39, 1);
  });

  it('allocates integer parts that add up exactly and respect the minimum', () => {
    const parts = allocate(1000, zipfWeights(37, 0.8), 1);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(Math.min(...parts)).toBeGreaterThanOrEqual(1);
    expect(parts[0]).toBeGreaterThan(parts[36]!);
    expect(() => allocate(5, [1, 1, 1], 2)).toThrow(RangeError);
  });
});
