import { describe, expect, it } from 'vitest';
import { StringPool } from './string-pool.js';

describe('StringPool', () => {
  it('gives one ref per distinct text and the text back', () => {
    const p = new StringPool();
    const a = p.take('red shoes');
    const b = p.take('blue shoes');
    expect(p.take('red shoes')).toBe(a);
    expect(b).not.toBe(a);
    expect(p.text(a)).toBe('red shoes');
    expect(p.text(b)).toBe('blue shoes');
    expect(p.size).toBe(2);
  });

  it('keeps a text while a holder is left, then drops it and reuses its ref', () => {
    const p = new StringPool();
    const a = p.take('x');
    p.take('x');
    p.release(a);
    expect(p.size).toBe(1);
    expect(p.text(a)).toBe('x');
    p.release(a);
    expect(p.size).toBe(0);
    const c = p.take('y');
    expect(c).toBe(a);
    expect(p.text(c)).toBe('y');
    // A text taken again after it was dropped is a new holder from zero.
    const d = p.take('x');
    p.release(d);
    expect(p.size).toBe(1);
  });

  it('refuses a release past the holders taken', () => {
    const p = new StringPool();
    const a = p.take('x');
    p.release(a);
    expect(() => p.release(a)).toThrow(/released more often/);
  });

  it('grows past its first counts array', () => {
    const p = new StringPool();
    const refs = Array.from({ length: 5000 }, (_, i) => p.take(`t${i}`));
    expect(new Set(refs).size).toBe(5000);
    expect(p.text(refs[4321]!)).toBe('t4321');
  });
});
