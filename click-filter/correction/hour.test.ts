import { describe, expect, it } from 'vitest';
import { hourOf, parseHour } from './hour.js';

describe('correction hours', () => {
  it('parses an hour as UTC', () =>
    expect(parseHour('2026-11-22T13')).toEqual({
      label: '2026-11-22T13',
      startMs: Date.UTC(2026, 10, 22, 13),
      endMs: Date.UTC(2026, 10, 22, 14),
    }));
  it('refuses other forms and impossible hours', () => {
    for (const bad of ['2026-11-22 13', '2026-11-22T13:00', '2026-02-30T01', '2026-11-22T24'])
      expect(() => parseHour(bad)).toThrow(RangeError);
  });
  it('finds the hour of a time', () =>
    expect(hourOf(Date.UTC(2026, 10, 22, 13, 59, 59)).label).toBe('2026-11-22T13'));
});
