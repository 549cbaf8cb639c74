import { describe, expect, it } from 'vitest';
import { ceilDiv, formatMicros, parseMoney, roundUpToStep } from './money.js';

describe('money', () => {
  it('parses decimal text without floating point', () => {
    expect(parseMoney('2.51')).toBe(2_510_000);
    expect(parseMoney('0.000001')).toBe(1);
    expect(parseMoney('1000')).toBe(1_000_000_000);
    expect(() => parseMoney('1.0000001')).toThrow(RangeError);
    expect(() => parseMoney('abc')).toThrow(RangeError);
  });

  it('formats micros', () => {
    expect(formatMicros(2_510_000)).toBe('2.51');
    expect(formatMicros(5_000_000)).toBe('5.00');
    expect(formatMicros(1)).toBe('0.000001');
  });

  it('rounds up to the price step', () => {
    expect(roundUpToStep(2_500_001)).toBe(2_510_000);
    expect(roundUpToStep(2_510_000)).toBe(2_510_000);
    expect(roundUpToStep(0)).toBe(0);
    expect(roundUpToStep(7, 5)).toBe(10);
  });

  it('divides with an exact ceiling', () => {
    expect(ceilDiv(10, 3)).toBe(4);
    expect(ceilDiv(9, 3)).toBe(3);
    expect(ceilDiv(2 ** 53 - 1, 1)).toBe(2 ** 53 - 1);
    expect(ceilDiv(0, 7)).toBe(0);
  });
});
