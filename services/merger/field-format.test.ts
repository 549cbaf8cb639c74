import { describe, expect, it } from 'vitest';
import { projector } from './field-format.js';
import { hit } from './test-support.js';

describe('FieldFormatSort', () => {
  it('returns only the fields asked for', () => {
    const [out] = projector(['offerId', 'score'])([hit('o1', 'A', 42)]);
    expect(out).toEqual({ offerId: 'o1', score: 42 });
  });

  it('returns fields in schema order whatever order they were asked in', () => {
    const [out] = projector(['title', 'offerId', 'customerId'])([hit('o1', 'A', 42)]);
    expect(Object.keys(out!)).toEqual(['offerId', 'customerId', 'title']);
  });

  it('returns whole hits when no fields are named', () => {
    const h = hit('o1', 'A', 42);
    expect(projector(undefined)([h])[0]).toBe(h);
  });

  it('does not change the hits it projects', () => {
    const h = hit('o1', 'A', 42);
    projector(['offerId'])([h]);
    expect(h.title).toBe('title o1');
  });
});
