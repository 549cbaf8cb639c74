import { describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH } from '../../core/search-contract.js';
import { compileQrwDictionary, EMPTY_QRW, rewriteQuery } from './qrw.js';

const dict = (doc: unknown) => compileQrwDictionary(doc, 'test').dictionary;

describe('query rewrite (QRW)', () => {
  it('normalizes like the index does when no dictionary is loaded', () => {
    const r = rewriteQuery(EMPTY_QRW, "  Men's RUNNING-Shoes!! ");
    expect(r.query).toBe('man running shoe');
    expect(r.normalized).toEqual(['man', 'running', 'shoe']);
    expect(r.synonymsApplied).toEqual([]);
  });

  it('rewrites a synonym to its canonical form (keys and values normalized at load)', () => {
    const d = dict({ synonyms: { Sneakers: ['Shoes', 'trainers'] } });
    const r = rewriteQuery(d, 'red sneakers');
    expect(r.query).toBe('red shoe');
    expect(r.synonymsApplied).toEqual(['sneaker']);
  });

  it('prefers the longest multiword key and does not chain rewrites', () => {
    const d = dict({
      synonyms: { 'tee shirt': ['t shirt'], tee: ['golf tee'], shirt: ['top'], golf: ['sport'] },
    });
    expect(rewriteQuery(d, 'blue tee shirt').query).toBe('blue t shirt');
    expect(rewriteQuery(d, 'blue tee').query).toBe('blue golf tee');
    expect(rewriteQuery(d, 'shirt tee').query).toBe('top golf tee');
  });

  it('a two-way mapping does not loop', () => {
    const d = dict({ synonyms: { a1: ['b1'], b1: ['a1'] } });
    expect(rewriteQuery(d, 'a1 b1').query).toBe('b1 a1');
  });

  it('removes stopwords, after synonyms', () => {
    const d = dict({ synonyms: { cheapo: ['cheap'] }, stopwords: ['cheap', 'for', 'The'] });
    const r = rewriteQuery(d, 'cheapo shoes for the beach');
    expect(r.query).toBe('shoe beach');
    expect(r.stopwordsRemoved).toEqual(['cheap', 'for', 'the']);
  });

  it('never empties a query: all stopwords keeps the words', () => {
    const d = dict({ stopwords: ['cheap', 'for'] });
    const r = rewriteQuery(d, 'Cheap for');
    expect(r.query).toBe('cheap for');
    expect(r.stopwordsRemoved).toEqual([]);
  });

  it('a query with no searchable words comes back empty (the route answers 400)', () => {
    expect(rewriteQuery(EMPTY_QRW, '!!! ...').tokens).toEqual([]);
  });

  it('cuts an over-long rewrite at a word boundary', () => {
    const long = Array.from({ length: 8 }, (_, i) => `word${i}x`).join(' ');
    const d = dict({ synonyms: { z: [long] } });
    const q = Array.from({ length: 40 }, () => 'z').join(' ');
    const r = rewriteQuery(d, q);
    expect(r.query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    expect(r.query.endsWith('x')).toBe(true);
    expect(r.query).toBe(r.tokens.join(' '));
  });

  it('skips bad entries, reports them, and keeps the good ones', () => {
    const { dictionary, problems } = compileQrwDictionary(
      {
        synonyms: { '!!!': ['x'], sneaker: [], boot: 'shoe', pant: ['trouser'], x: [1] },
        stopwords: ['t-shirt', 'for', 7],
      },
      'v3',
    );
    expect(problems).toHaveLength(5);
    expect(rewriteQuery(dictionary, 'boot pants for x').query).toBe('shoe trouser x');
    expect(dictionary.source).toBe('v3');
  });

  it('rejects a document that is unusable as a whole', () => {
    expect(() => compileQrwDictionary([], 's')).toThrow(TypeError);
    expect(() => compileQrwDictionary({ synonyms: [] }, 's')).toThrow(/synonyms/);
    expect(() => compileQrwDictionary({ stopwords: 'for' }, 's')).toThrow(/stopwords/);
    expect(() => compileQrwDictionary({ synonym: {} }, 's')).toThrow(/unknown QRW keys synonym/);
  });
});
