import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { ImatchError } from '../../core/errors.js';
import { GenConfig } from './config.js';

describe('imatch gen settings', () => {
  it('fills defaults and reads IMATCH_* variables, flags winning', () => {
    const c = loadConfig(GenConfig, {
      flags: { out: 'data', offers: '2500' },
      env: { IMATCH_OFFERS: '9', IMATCH_SEED: 'abc', IMATCH_QUERIES: '7' },
    });
    expect(c).toMatchObject({
      out: 'data',
      offers: 2500,
      seed: 'abc',
      queries: 7,
      changes: 100_000,
      progress: 'auto',
    });
    expect(c.customers).toBeUndefined();
  });

  it('names every bad key at once', () => {
    let err: unknown;
    try {
      loadConfig(GenConfig, {
        flags: { offers: 'many', seed: '', progress: 'fancy', takenAt: 'yesterday', bogus: '1' },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImatchError);
    const e = err as ImatchError;
    expect(e.code).toBe('IM_ERR_CONFIG');
    for (const flag of ['--out', '--offers', '--seed', '--progress', '--taken-at', '--bogus'])
      expect(e.message).toContain(flag);
  });
});
