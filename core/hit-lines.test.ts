import { describe, expect, it } from 'vitest';
import { HitLinesError, hitLine, parseHitLines } from './hit-lines.js';

const KEYS = {
  score: 7_500_000,
  qualityBp: 5000,
  matchType: 'phrase',
  offerId: 'o-1',
  customerId: 'c:9',
} as const;
const JSON_HIT = '{"offerId":"o-1","title":"Tab\\tand \\"quotes\\"\\n"}';

describe('hit lines', () => {
  it('reads back what it writes: envelope, keys and the hit JSON untouched', () => {
    const text = `{"column":3,"replica":"r1","version":"v","appliedId":4,"tookUs":12}\n${hitLine(KEYS, JSON_HIT)}${hitLine({ ...KEYS, offerId: 'o-2', matchType: 'text' }, '{}')}`;
    const { envelope, hits } = parseHitLines(text);
    expect(envelope).toEqual({ column: 3, replica: 'r1', version: 'v', appliedId: 4, tookUs: 12 });
    expect(hits).toEqual([
      { ...KEYS, json: JSON_HIT },
      { ...KEYS, offerId: 'o-2', matchType: 'text', json: '{}' },
    ]);
    expect(JSON.parse(hits[0]!.json).title).toBe('Tab\tand "quotes"\n');
  });

  it('reads an answer without hits', () => {
    expect(parseHitLines('{"column":0}\n').hits).toEqual([]);
  });

  it.each([
    ['no envelope line', '{"column":0}'],
    ['an envelope that is not JSON', '{"column":\n'],
    ['an envelope without a column', '{"replica":"r"}\n'],
    ['a truncated last line', `{"column":0}\n${hitLine(KEYS, '{}').slice(0, -1)}`],
    ['a line without a tab', '{"column":0}\n1 2 exact o c {}\n'],
    ['four keys', '{"column":0}\n1 2 exact o\t{}\n'],
    ['an unknown match type', '{"column":0}\n1 2 fuzzy o c\t{}\n'],
    ['a score that is not an integer', '{"column":0}\n1.5 2 exact o c\t{}\n'],
    ['a negative quality', '{"column":0}\n1 -2 exact o c\t{}\n'],
    ['an id with a bad character', '{"column":0}\n1 2 exact o/1 c\t{}\n'],
    ['a hit that is not an object', '{"column":0}\n1 2 exact o c\t[1]\n'],
  ])('refuses %s', (_, text) => {
    expect(() => parseHitLines(text)).toThrow(HitLinesError);
  });
});
