import { describe, expect, it } from 'vitest';
import { foldPlural, normalize, tokenize } from './normalize.js';

describe('normalize', () => {
  it('folds case and full-width characters', () => {
    expect(normalize('ＲＥＤ Shoes')).toBe('red shoe');
    expect(normalize('STRASSE Straße')).toBe('strasse strasse');
  });

  it('turns punctuation and symbols into token breaks', () => {
    expect(normalize('t-shirt, cotton!!! (red)')).toBe('t shirt cotton red');
    expect(normalize('  usb---c   cable ')).toBe('usb c cable');
    expect(normalize('★ best ★')).toBe('best');
  });

  it('drops apostrophes inside words', () => {
    expect(normalize("men's shoes")).toBe('man shoe');
    expect(normalize('women’s bags')).toBe('woman bag');
  });

  it('keeps decimal numbers and drops thousands separators', () => {
    expect(tokenize('2.5mm screws, 1,000 pcs.')).toEqual(['2.5mm', 'screw', '1000', 'pcs']);
    expect(tokenize('end. 3.5')).toEqual(['end', '3.5']);
  });

  it('folds plurals with rules and an irregular table', () => {
    expect(foldPlural('batteries')).toBe('battery');
    expect(foldPlural('keys')).toBe('key');
    expect(foldPlural('glasses')).toBe('glass');
    expect(foldPlural('boxes')).toBe('box');
    expect(foldPlural('watches')).toBe('watch');
    expect(foldPlural('glass')).toBe('glass');
    expect(foldPlural('cactus')).toBe('cactus');
    expect(foldPlural('tennis')).toBe('tennis');
    expect(foldPlural('cables')).toBe('cable');
    expect(foldPlural('children')).toBe('child');
    expect(foldPlural('mens')).toBe('man');
    expect(foldPlural('bus')).toBe('bus');
    expect(foldPlural('gps')).toBe('gps');
  });

  it('is idempotent', () => {
    for (const s of ["Men's Running-Shoes, size 10.5!", 'ＵＳＢ ケーブル', 'Boxes of batteries', '']) {
      expect(normalize(normalize(s))).toBe(normalize(s));
    }
  });

  it('returns no tokens for text with no letters or digits', () => {
    expect(tokenize('!!! ... ---')).toEqual([]);
  });
});
