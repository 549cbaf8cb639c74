import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { hitLine, parseHitLines } from '../../core/hit-lines.js';
import { MergeResponse } from '../../core/merge-contract.js';
import { hitJson, mergeResponseJson } from './field-format.js';
import { hit } from './test-support.js';

const wire = (json: string) => JSON.parse(json) as Record<string, unknown>;

describe('FieldFormatSort', () => {
  it('returns only the fields asked for', () => {
    expect(wire(hitJson(hit('o1', 'A', 42), ['offerId', 'score']))).toEqual({ offerId: 'o1', score: 42 });
  });

  it('returns fields in schema order whatever order they were asked in', () => {
    const out = hitJson(hit('o1', 'A', 42), ['title', 'offerId', 'customerId']);
    expect(Object.keys(wire(out))).toEqual(['offerId', 'customerId', 'title']);
  });

  it('returns whole hits when no fields are named, and never changes the hit', () => {
    const h = hit('o1', 'A', 42);
    const before = { ...h };
    expect(hitJson(h, undefined)).toBe(JSON.stringify(h));
    hitJson(h, ['offerId']);
    expect(h).toEqual(before);
  });

  it('copies a hit of the lines form through as the searcher wrote it', () => {
    const h = hit('o1', 'A', 42);
    // The title is in the JSON only, not in the ranking keys: only a copy can write it.
    const json = JSON.stringify({ offerId: 'o1', title: 'Red "boots"\t50% off' });
    const [line] = parseHitLines(`{"column":0}\n${hitLine(h, json)}`).hits;
    expect(hitJson(line!, ['offerId', 'title'])).toBe(json);
  });

  it('writes the whole answer as MergeResponse describes it', () => {
    const text = mergeResponseJson([hit('o1', 'A', 42), hit('o2', 'B', 41)], ['offerId'], {
      coverage: { columns: 2, answered: 1 },
      degraded: true,
      tookUs: 17,
    });
    const body = JSON.parse(text);
    expect(body).toEqual({
      hits: [{ offerId: 'o1' }, { offerId: 'o2' }],
      coverage: { columns: 2, answered: 1 },
      degraded: true,
      tookUs: 17,
    });
    expect(Value.Errors(MergeResponse, body).First()).toBeUndefined();
    expect(
      mergeResponseJson([], undefined, { coverage: { columns: 1, answered: 1 }, degraded: false, tookUs: 0 }),
    ).toBe('{"hits":[],"coverage":{"columns":1,"answered":1},"degraded":false,"tookUs":0}');
  });
});
