import { describe, expect, it } from 'vitest';
import { Ftrl, sigmoid } from './ftrl.js';

const P = { alpha: 0.1, beta: 1, l1: 0.5, l2: 1, bits: 4 };

describe('FTRL-Proximal', () => {
  it('matches a hand-computed example, step by step', () => {
    const m = new Ftrl(P);
    // Step 1: every weight 0, p = 0.5; clicked: g = -0.5, n = 0 -> sigma = sqrt(0.25)/0.1 = 5.
    // z = 0 + (-0.5) - 5 * 0 = -0.5 for coordinates 1 and 3; n = 0.25.
    expect(m.update([1, 3], true)).toBe(0.5);
    expect(m.z[1]).toBeCloseTo(-0.5, 12);
    expect(m.n[1]).toBeCloseTo(0.25, 12);
    // |z| = 0.5 <= l1: the weight is still exactly 0 (L1 keeps it out).
    expect(m.weight(1)).toBe(0);
    // Step 2: same example, clicked again: p = 0.5, g = -0.5, n: 0.25 -> 0.5,
    // sigma = (sqrt(0.5) - sqrt(0.25)) / 0.1 = 2.0710678..., w = 0 -> z = -1.0.
    m.update([1, 3], true);
    expect(m.z[1]).toBeCloseTo(-1, 12);
    expect(m.n[1]).toBeCloseTo(0.5, 12);
    // w = -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2) = 0.5 / ((1 + 0.70710678) / 0.1 + 1)
    const w = 0.5 / ((1 + Math.sqrt(0.5)) / 0.1 + 1);
    expect(m.weight(1)).toBeCloseTo(w, 12);
    expect(m.weight(3)).toBeCloseTo(w, 12);
    expect(m.predict([1, 3])).toBeCloseTo(sigmoid(2 * w), 12);
    // Step 3: a non-click on coordinates 1 and 2: p = sigmoid(w), g = p,
    // sigma_1 = (sqrt(0.5 + g^2) - sqrt(0.5)) / 0.1, z_1 = -1 + g - sigma_1 w; z_2 = g (w_2 = 0).
    const p3 = sigmoid(w);
    expect(m.update([1, 2], false)).toBeCloseTo(p3, 12);
    const sigma1 = (Math.sqrt(0.5 + p3 * p3) - Math.sqrt(0.5)) / 0.1;
    expect(m.z[1]).toBeCloseTo(-1 + p3 - sigma1 * w, 12);
    expect(m.z[2]).toBeCloseTo(p3, 12);
    expect(m.n[2]).toBeCloseTo(p3 * p3, 12);
    expect(m.examples).toBe(3);
  });

  it('learns two rates apart and keeps unused coordinates at zero', () => {
    const m = new Ftrl({ alpha: 0.1, beta: 1, l1: 0.1, l2: 0.1, bits: 8 });
    // Deterministic streams: feature 10 clicked 30% of the time, feature 20 5%.
    for (let i = 0; i < 20_000; i++) {
      m.update([0, 10], i % 10 < 3);
      m.update([0, 20], i % 20 === 0);
    }
    expect(m.predict([0, 10])).toBeGreaterThan(0.25);
    expect(m.predict([0, 10])).toBeLessThan(0.35);
    expect(m.predict([0, 20])).toBeGreaterThan(0.03);
    expect(m.predict([0, 20])).toBeLessThan(0.08);
    const { coords } = m.nonZeroWeights();
    expect([...coords].every((c) => c === 0 || c === 10 || c === 20)).toBe(true);
  });

  it('refuses bad parameters', () => {
    expect(() => new Ftrl({ ...P, bits: 0 })).toThrow(RangeError);
    expect(() => new Ftrl({ ...P, alpha: 0 })).toThrow(RangeError);
    expect(() => new Ftrl({ ...P, l1: -1 })).toThrow(RangeError);
  });

  it('never predicts exactly 0 or 1', () => {
    expect(sigmoid(1e6)).toBeLessThan(1);
    expect(sigmoid(-1e6)).toBeGreaterThan(0);
  });
});
