import { describe, expect, it } from 'vitest';
import { addTo, Evaluation, emptySums, figures } from './evaluation.js';

describe('evaluation', () => {
  it('computes log loss, normalized entropy, AUC and calibration on a hand-made set', () => {
    const s = emptySums();
    addTo(s, 0.8, true);
    addTo(s, 0.6, false);
    addTo(s, 0.4, true);
    addTo(s, 0.2, false);
    const f = figures(s);
    const ll = -(Math.log(0.8) + Math.log(0.4) + Math.log(0.4) + Math.log(0.8)) / 4;
    expect(f.logLoss).toBeCloseTo(ll, 12);
    expect(f.normalizedEntropy).toBeCloseTo(ll / Math.log(2), 12); // base rate 0.5: entropy ln 2
    // Pairs (clicked, not): (0.8,0.6) (0.8,0.2) (0.4,0.2) right, (0.4,0.6) wrong: 3/4.
    expect(f.auc).toBeCloseTo(0.75, 12);
    expect(f.calibration).toBeCloseTo(2 / 2, 12);
  });

  it('a constant prediction has AUC 0.5 and no figures without data', () => {
    const s = emptySums();
    for (let i = 0; i < 100; i++) addTo(s, 0.1, i % 10 === 0);
    expect(figures(s).auc).toBeCloseTo(0.5, 12);
    expect(figures(s).calibration).toBeCloseTo(1, 12);
    expect(figures(emptySums())).toMatchObject({ impressions: 0, auc: null, logLoss: null });
  });

  it('the recent figures forget windows before the last two', () => {
    const e = new Evaluation(100);
    for (let i = 0; i < 300; i++) e.add(0.9, false); // a bad start
    for (let i = 0; i < 250; i++) e.add(0.1, i % 10 === 0);
    // Windows of 100: the last full one (the 401st-500th) and the 50 after it.
    expect(e.recent().impressions).toBe(150);
    expect(e.recent().calibration).toBeCloseTo(1, 9);
    expect(e.total().impressions).toBe(550);
    const back = Evaluation.restore(100, e.state());
    expect(back.recent()).toEqual(e.recent());
  });
});
