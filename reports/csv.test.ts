import { describe, expect, it } from 'vitest';
import { flatten, toCsv } from './csv.js';

describe('report CSV', () => {
  it('writes a header and one line per row, quoting what needs quoting', () => {
    expect(
      toCsv([
        { query: 'red shoes', clicks: 2, costMicros: 500_000 },
        { query: 'shoes, "cheap"', clicks: 0, costMicros: 0 },
      ]),
    ).toBe('query,clicks,costMicros\r\nred shoes,2,500000\r\n"shoes, ""cheap""",0,0\r\n');
  });

  it('turns nested counts into one column per key and leaves missing cells empty', () => {
    expect(flatten({ customerId: 'c1', invalidByReason: { bot: 2 } })).toEqual({
      customerId: 'c1',
      'invalidByReason.bot': 2,
    });
    expect(
      toCsv([
        { a: 1, n: { x: 1 } },
        { a: 2, n: { y: 3 } },
      ]),
    ).toBe('a,n.x,n.y\r\n1,1,\r\n2,,3\r\n');
  });

  it('an empty report is just the header of the given columns', () => {
    expect(toCsv([], ['day', 'hour'])).toBe('day,hour\r\n');
  });
});
