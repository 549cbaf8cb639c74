import { describe, expect, it } from 'vitest';
import {
  coordOf,
  featureCoords,
  featureNames,
  KW_OFFER_FEATURE,
  OFFER_FEATURE,
  REFERENCE_POSITION,
} from './features.js';

const AD = {
  keyword: 'running shoes',
  offerId: 'o1',
  customerId: 'c1',
  matchType: 'exact',
  position: 3,
  region: 'US',
  queryTokens: ['red', 'running', 'shoes', 'red'],
  hour: 14,
};

describe('features', () => {
  it('names every feature of a shown ad, query tokens once each', () => {
    expect(featureNames(AD)).toEqual([
      'bias',
      'kw=running shoes',
      'offer=o1',
      'cust=c1',
      'mt=exact',
      'pos=3',
      'hour=14',
      'region=US',
      'cat=-',
      'kwxoffer=running shoes|o1',
      'mtxpos=exact|3',
      'tok=red',
      'tokxoffer=red|o1',
      'tok=running',
      'tokxoffer=running|o1',
      'tok=shoes',
      'tokxoffer=shoes|o1',
    ]);
  });

  it('hashes stably into the space, and only the position differs at the reference position', () => {
    const bits = 20;
    const a = featureCoords(AD, bits);
    expect([...a].every((c) => c >= 0 && c < 2 ** bits)).toBe(true);
    expect([...featureCoords(AD, bits)]).toEqual([...a]);
    const b = featureCoords({ ...AD, position: REFERENCE_POSITION }, bits);
    const differ = [...a].map((c, i) => (c === b[i] ? 0 : 1)).reduce((s: number, x) => s + x, 0);
    expect(differ).toBe(2); // pos= and mtxpos=
    // Pinned vector: a change of the hash changes every deployed model's meaning.
    expect(coordOf('bias', 22)).toBe(646336);
    expect(coordOf('offer=o1', 22)).toBe(1875754);
  });

  it('spreads nearby strings over the space (no clustering in the top bits)', () => {
    const bits = 10;
    const counts = new Uint32Array(2 ** bits);
    for (let i = 0; i < 100_000; i++) counts[coordOf(`offer=o${i}`, bits)]!++;
    const max = Math.max(...counts);
    const min = Math.min(...counts);
    // 100k into 1024 buckets: about 98 each; a good hash stays well within 2x.
    expect(max).toBeLessThan(150);
    expect(min).toBeGreaterThan(50);
  });

  it("names the offer's own features at the indexes rankers look them up by", () => {
    const names = featureNames(AD);
    expect(names[OFFER_FEATURE]).toBe('offer=o1');
    expect(names[KW_OFFER_FEATURE]).toBe('kwxoffer=running shoes|o1');
  });
});

describe('feature coordinates without names', () => {
  it('equal the hashes of the feature names, token for token (unicode included)', () => {
    const contexts = [
      AD,
      { ...AD, position: 14, region: undefined, queryTokens: [] },
      {
        ...AD,
        keyword: 'größe schuhe',
        offerId: 'o-ü',
        queryTokens: ['größe', 'schuhe', '👟', 'größe'],
        category: 'a/b',
      },
    ];
    for (const bits of [12, 22]) {
      for (const a of contexts) {
        expect([...featureCoords(a, bits)]).toEqual(featureNames(a).map((n) => coordOf(n, bits)));
      }
    }
  });
});
