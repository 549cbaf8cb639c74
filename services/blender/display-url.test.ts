import { describe, expect, it } from 'vitest';
import { rngOf } from '../../test/helpers/searcher-fixture.js';
import { displayUrlOf } from './blend.js';

function whatwgHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

describe('displayUrlOf', () => {
  it("is the landing URL's WHATWG host", () => {
    expect(displayUrlOf('https://Shop.Example.com:8443/p?x=1')).toBe('shop.example.com:8443');
    expect(displayUrlOf('https://shop.example.com:443/p')).toBe('shop.example.com');
    expect(displayUrlOf('http://shop.example.com:80')).toBe('shop.example.com');
    expect(displayUrlOf('http://shop.example.com:443/')).toBe('shop.example.com:443');
    expect(displayUrlOf('https://www.bruen-toy.example/products/doll-o2')).toBe('www.bruen-toy.example');
    expect(displayUrlOf('not a url')).toBe('');
  });

  // The fast path must give exactly what the URL parser gives, on the cases it takes and on the
  // near misses it must hand over (IPv4 forms, default and odd ports, userinfo, IDNA, case,
  // characters the parser strips or rewrites).
  it('equals new URL().host on generated URLs, tricky ones included', () => {
    const r = rngOf(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const labels = [
      'shop',
      'www',
      'a',
      'x-1',
      'example',
      'xn--nxasmq6b',
      'xn--bad',
      '0x1f',
      '127',
      '08',
      'Shop',
      'b_c',
      'ü',
      '1a',
      '-a',
      'a-',
    ];
    const schemes = ['https://', 'http://', 'HTTPS://', 'ftp://', 'https:/', 'https:\\\\', ' https://'];
    const ports = ['', '', ':443', ':80', ':8080', ':0', ':08080', ':65535', ':65536', ':99999', ':', ':1'];
    const tails = ['', '/', '/p?x=1', '?q', '#f', '\\\\p', '@evil.example/', ' /p', '\t/p', '/p q', '%2F'];
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + Math.floor(r() * 4);
      const host = Array.from({ length: n }, () => pick(labels)).join(pick(['.', '.', '.', '..', '.%2e']));
      const url = pick(schemes) + host + (r() < 0.1 ? '.' : '') + pick(ports) + pick(tails);
      expect(displayUrlOf(url), url).toBe(whatwgHost(url));
      if (/^https?:\/\/[a-z0-9.-]+(:\d+)?([/?#]|$)/.test(url)) fast++;
    }
    expect(fast).toBeGreaterThan(1000); // the fast path's own form was exercised, not only the fallback
  });
});
