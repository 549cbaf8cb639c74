import { describe, expect, it } from 'vitest';
import { projector } from './field-format.js';
import { hit } from './test-support.js';

/** What the caller receives: the hit as JSON. */
const wire = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

describe('FieldFormatSort', () => {
  it('returns only the fields asked for', () => {
    const [out] = projector(['offerId', 'score'])([hit('o1', 'A', 42)]);
    expect(wire(out)).toEqual({ offerId: 'o1', score: 42 });
  });

  it('returns fields in schema order whatever order they were asked in', () => {
    const [out] = projector(['title', 'offerId', 'customerId'])([hit('o1', 'A', 42)]);
    expect(Object.keys(wire(out))).toEqual(['offerId', 'customerId', 'title']);
  });

  it('returns whole hits when no fields are named', () => {
    const h = hit('o1', 'A', 42);
    expect(projector(undefined)([h])[0]).toBe(h);
    expect(Object.keys(wire(h))).toHaveLength(12);
  });

  it('works on every hit of the answer', () => {
    const out = projector(['offerId'])([hit('o1', 'A', 42), hit('o2', 'B', 41)]);
    expect(out.map(wire)).toEqual([{ offerId: 'o1' }, { offerId: 'o2' }]);
  });
});
