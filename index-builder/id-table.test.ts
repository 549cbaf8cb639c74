import { describe, expect, it } from 'vitest';
import { fnv1a32 } from '../core/partition.js';
import { IdTable } from './id-table.js';

describe('IdTable', () => {
  it('finds every duplicate, and only duplicates, across growth', () => {
    const ids: string[] = [];
    for (let i = 0; i < 50_000; i++) ids.push(`b${i}`);
    for (let i = 0; i < 5_000; i++) ids.push(`b${i * 7}`); // duplicates of earlier rows
    const table = new IdTable(16);
    const dups: [number, number][] = [];
    ids.forEach((id, row) => {
      const first = table.add(
        fnv1a32(id),
        row,
        () => id,
        (r) => ids[r]!,
      );
      if (first >= 0) dups.push([row, first]);
    });
    expect(dups).toHaveLength(5_000);
    expect(dups.every(([row, first]) => ids[row] === ids[first] && first < row)).toBe(true);
    expect(table.size).toBe(50_000);
  });

  it('tells apart different ids whose hashes are equal', () => {
    const table = new IdTable();
    const ids = ['x', 'y', 'x'];
    const constantHash = 42;
    const results = ids.map((id, row) =>
      table.add(
        constantHash,
        row,
        () => id,
        (r) => ids[r]!,
      ),
    );
    expect(results).toEqual([-1, -1, 0]);
  });
});
