import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { ImatchError } from '../core/errors.js';
import { checkSimulateConfig, experimentOf, queryLogOf, SimulateConfig } from './config.js';

const required = {
  blender: 'http://127.0.0.1:8080',
  billing: 'http://127.0.0.1:8084',
  json: 'sim.json',
};

function load(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  return loadConfig(SimulateConfig, { flags, env });
}

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ImatchError);
    expect((err as ImatchError).code).toBe('IM_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('imatch simulate settings', () => {
  it('has defaults for everything but the blender, billing and the output file', () => {
    const c = load(required);
    expect(c).toMatchObject({
      queries: 10_000,
      seed: 'sim',
      users: 5_000,
      concurrency: 16,
      adsPerQuery: 5,
      minClickDelayMs: 1_500,
      maxClickDelayMs: 8_000,
      zkRoot: '/imatch',
    });
    expect(c.arms).toBeUndefined();
    expect(c.clickBase).toBeUndefined();
    expect(c.learner).toBeUndefined();
  });

  it('names every missing setting at once', () => {
    const message = problemOf(() => load({}));
    expect(message).toContain('--blender');
    expect(message).toContain('--billing');
    expect(message).toContain('--json');
  });

  it('takes flags over IMATCH_ variables, as text from the command line', () => {
    const c = load(
      { ...required, queries: '200000', seed: '3', clickBase: 'http://127.0.0.1:9081' },
      { IMATCH_QUERIES: '5', IMATCH_USERS: '20000' },
    );
    expect(c.queries).toBe(200_000);
    expect(c.users).toBe(20_000);
    expect(c.clickBase).toBe('http://127.0.0.1:9081');
  });

  it('refuses a URL that is not http(s), zero queries and an unknown flag', () => {
    const message = problemOf(() =>
      load({ ...required, blender: 'localhost:8080', queries: '0', speed: 'max' }),
    );
    expect(message).toContain('--blender');
    expect(message).toContain('--queries');
    expect(message).toContain('--speed');
  });

  it('reads --arms as arm=percent pairs adding up to 100', () => {
    expect(experimentOf(load({ ...required, arms: 'quality=50,ctr=50' }))).toEqual({
      arms: { quality: 50, ctr: 50 },
    });
    expect(experimentOf(load({ ...required, arms: 'ctr=100' }))).toEqual({ arms: { ctr: 100 } });
    expect(experimentOf(load(required))).toBeUndefined();
  });

  it('refuses arms that do not add up, unknown arms and bad syntax', () => {
    expect(problemOf(() => experimentOf({ arms: 'quality=60,ctr=50' }))).toContain('add up to 110');
    expect(problemOf(() => experimentOf({ arms: 'quality=50,bandit=50' }))).toContain('unknown arm "bandit"');
    expect(problemOf(() => experimentOf({ arms: 'quality:100' }))).toContain('<arm>=<percent>');
    expect(problemOf(() => checkSimulateConfig(load({ ...required, arms: 'ctr=99' })))).toContain(
      'add up to 99',
    );
  });

  it('refuses a click delay range upside down', () => {
    const c = load({ ...required, minClickDelayMs: '5000', maxClickDelayMs: '2000' });
    expect(problemOf(() => checkSimulateConfig(c))).toContain('--max-click-delay-ms');
  });

  it('reads the query log imatch start generates unless told otherwise', () => {
    expect(queryLogOf({ dataDir: '/tmp/e' })).toBe('/tmp/e/demo/snapshot/queries.jsonl');
    expect(queryLogOf({ dataDir: '/tmp/e', queryLog: 'q.jsonl' })).toBe('q.jsonl');
  });
});
