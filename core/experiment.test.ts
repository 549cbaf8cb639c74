import { describe, expect, it } from 'vitest';
import { armOf, bucketOf, experimentProblem, parseArmsFlag, parseExperiment } from './experiment.js';

describe('experiment config', () => {
  it('accepts shares that add up to 100 and drops arms with no share', () => {
    expect(parseExperiment({ arms: { quality: 100, ctr: 0 } }).arms).toEqual({ quality: 100 });
    expect(parseArmsFlag('quality=30, ctr=70').arms).toEqual({ quality: 30, ctr: 70 });
  });

  it('refuses unknown arms, bad shares, wrong totals and extra keys, naming the problem', () => {
    expect(experimentProblem({ arms: { quality: 50, ctr: 40 } })).toMatch(/add up to 90/);
    expect(experimentProblem({ arms: { bandit: 100 } })).toMatch(/unknown arm "bandit"/);
    expect(experimentProblem({ arms: { quality: 50.5, ctr: 49.5 } })).toMatch(/whole percent/);
    expect(experimentProblem({ arms: { quality: 100 }, seed: 1 })).toMatch(/unknown experiment keys: seed/);
    expect(experimentProblem([])).toMatch(/JSON object/);
    expect(() => parseArmsFlag('quality:50')).toThrow(/not <arm>=<percent>/);
    expect(() => parseArmsFlag('ctr=50,ctr=50')).toThrow(/given twice/);
  });

  it('keeps a user in one arm and splits many users by the shares', () => {
    const config = parseArmsFlag('quality=30,ctr=70');
    expect(armOf(config, 'user-17')).toBe(armOf(config, 'user-17'));
    let ctr = 0;
    const users = 20_000;
    for (let i = 0; i < users; i++) if (armOf(config, `u${i}`) === 'ctr') ctr++;
    expect(ctr / users).toBeGreaterThan(0.68);
    expect(ctr / users).toBeLessThan(0.72);
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < users; i++) counts[bucketOf(`u${i}`)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(120); // every bucket used (mean 200)
  });

  it('gives every user the only arm when one arm has 100', () => {
    const all = parseArmsFlag('ctr=100');
    for (let i = 0; i < 100; i++) expect(armOf(all, `u${i}`)).toBe('ctr');
  });
});
