import { describe, expect, it } from 'vitest';
import { CategoryTable, categoryAdmits } from './categories.js';

describe('categoryAdmits', () => {
  it('admits the category itself and every category below it on a "/" boundary', () => {
    expect(categoryAdmits('shoes', 'shoes')).toBe(true);
    expect(categoryAdmits('shoes', 'shoes/boots')).toBe(true);
    expect(categoryAdmits('shoes', 'shoes/boots/work-boots')).toBe(true);
    expect(categoryAdmits('shoes/boots', 'shoes/boots/work-boots')).toBe(true);
  });

  it('refuses a longer name without the boundary, a parent, and a sibling', () => {
    expect(categoryAdmits('shoes', 'shoestrings')).toBe(false);
    expect(categoryAdmits('shoes/boots', 'shoes')).toBe(false);
    expect(categoryAdmits('shoes/boots', 'shoes/sandals')).toBe(false);
    expect(categoryAdmits('shoes/', 'shoes')).toBe(false);
  });
});

describe('CategoryTable', () => {
  it('gives dense ids, the same one for the same name', () => {
    const t = new CategoryTable();
    expect(t.idOf('home')).toBe(0);
    expect(t.idOf('shoes/boots')).toBe(1);
    expect(t.idOf('home')).toBe(0);
    expect(t.size).toBe(2);
  });

  it('marks exactly the ids a requested category admits', () => {
    const t = new CategoryTable();
    const names = ['shoes', 'shoes/boots', 'shoestrings', 'home', 'shoes/boots/work-boots'];
    for (const n of names) t.idOf(n);
    const admits = t.admits('shoes/boots');
    expect(names.map((n) => admits[t.idOf(n)])).toEqual([0, 1, 0, 0, 1]);
    expect(names.map((n) => t.admits('shoes')[t.idOf(n)])).toEqual([1, 1, 0, 0, 1]);
    expect(names.map((n) => t.admits('garden')[t.idOf(n)])).toEqual([0, 0, 0, 0, 0]);
  });

  it('brings a cached mask up to date when categories are added after it was built', () => {
    const t = new CategoryTable();
    t.idOf('home');
    expect(t.admits('shoes')[0]).toBe(0);
    // More categories than the mask's first allocation, so it must grow too.
    const added = Array.from({ length: 40 }, (_, i) => t.idOf(i % 2 === 0 ? `shoes/k${i}` : `toys/k${i}`));
    const admits = t.admits('shoes');
    expect(admits.length).toBeGreaterThanOrEqual(t.size);
    expect(added.map((id) => admits[id])).toEqual(added.map((_, i) => (i % 2 === 0 ? 1 : 0)));
    expect(admits[0]).toBe(0);
  });

  it('stays right once the mask cache has started over', () => {
    const t = new CategoryTable();
    const boots = t.idOf('shoes/boots');
    for (let i = 0; i < 5000; i++) t.admits(`req-${i}`); // past the cache's bound
    expect(t.admits('shoes')[boots]).toBe(1);
    expect(t.admits('req-1')[boots]).toBe(0);
  });
});
