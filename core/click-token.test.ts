import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ClickTokenPayload,
  clientDigest,
  createKeyring,
  decodeClickToken,
  encodeClickToken,
  generateClickSecret,
  parseClickKeys,
  parseKeyMaterial,
} from './click-token.js';

const secretA = randomBytes(32);
const secretB = randomBytes(32);
const ringA = createKeyring(new Map([[1, secretA]]), 1);

function payload(over: Partial<ClickTokenPayload> = {}): ClickTokenPayload {
  return {
    pvId: randomUUID(),
    position: 3,
    offerId: 'o123456',
    customerId: 'c42',
    bidwordId: 'b9876543',
    priceMicros: 2_510_000,
    bidMicros: 5_000_000,
    issuedAtMs: 1_790_000_000_123,
    landingUrl: 'https://shop.example.com/p/123?ref=ads&ü=1',
    clientDigest: clientDigest('203.0.113.7', 'Mozilla/5.0'),
    ...over,
  };
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('click-token codec', () => {
  it('round-trips every field', () => {
    const p = payload();
    const token = encodeClickToken(ringA, p);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeClickToken(ringA, token)).toEqual({ ok: true, kid: 1, payload: p });
  });

  it('round-trips extremes (largest ids, bid, position 255, long URL, zero digest)', () => {
    const p = payload({
      offerId: 'o'.repeat(64),
      customerId: 'c:1.2_3-4',
      bidwordId: 'b',
      priceMicros: 0,
      bidMicros: 1_000_000_000,
      position: 255,
      issuedAtMs: Number.MAX_SAFE_INTEGER,
      landingUrl: `https://x.example/${'a'.repeat(2000)}`,
      clientDigest: clientDigest(undefined, undefined),
    });
    expect(decodeClickToken(ringA, encodeClickToken(ringA, p))).toEqual({ ok: true, kid: 1, payload: p });
  });

  it('two tokens of the same payload differ (fresh nonce each time)', () => {
    const p = payload();
    expect(encodeClickToken(ringA, p)).not.toBe(encodeClickToken(ringA, p));
  });

  it('is compact: a typical token is under 200 characters', () => {
    expect(encodeClickToken(ringA, payload()).length).toBeLessThan(200);
  });

  it('rejects the token when ANY single byte of it is flipped', () => {
    const token = encodeClickToken(ringA, payload());
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = Buffer.from(raw);
        bad[i] = bad[i]! ^ mask;
        const result = decodeClickToken(ringA, bad.toString('base64url'));
        expect(result.ok, `byte ${i} ^ ${mask}`).toBe(false);
      }
    }
  });

  it('rejects the token when ANY single character of its text is changed', () => {
    const token = encodeClickToken(ringA, payload());
    for (let i = 0; i < token.length; i++) {
      const c = token[i]!;
      const others = [BASE64URL_ALPHABET[(BASE64URL_ALPHABET.indexOf(c) + 1) % 64]!, '=', '+', '.'];
      for (const other of others) {
        const bad = token.slice(0, i) + other + token.slice(i + 1);
        expect(decodeClickToken(ringA, bad).ok, `char ${i} -> ${other}`).toBe(false);
      }
    }
  });

  it('rejects truncated, extended and garbage tokens as bad format', () => {
    const token = encodeClickToken(ringA, payload());
    expect(decodeClickToken(ringA, '')).toEqual({ ok: false, reason: 'bad-format' });
    expect(decodeClickToken(ringA, 'not a token')).toEqual({ ok: false, reason: 'bad-format' });
    expect(decodeClickToken(ringA, token.slice(0, 20))).toEqual({ ok: false, reason: 'bad-format' });
    expect(decodeClickToken(ringA, `${token}A`).ok).toBe(false);
    expect(decodeClickToken(ringA, token.slice(0, -4)).ok).toBe(false);
    expect(decodeClickToken(ringA, 'A'.repeat(5000))).toEqual({ ok: false, reason: 'bad-format' });
  });

  it('a token under another key id than the ring knows fails with unknown key', () => {
    const ringB = createKeyring(new Map([[2, secretB]]), 2);
    const token = encodeClickToken(ringB, payload());
    expect(decodeClickToken(ringA, token)).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('the same key id with a different secret fails authentication', () => {
    const impostor = createKeyring(new Map([[1, secretB]]), 1);
    const token = encodeClickToken(impostor, payload());
    expect(decodeClickToken(ringA, token)).toEqual({ ok: false, reason: 'auth-failed' });
  });

  it('relabelling a token with another known key id fails authentication (key id is authenticated)', () => {
    const both = createKeyring(
      new Map([
        [1, secretA],
        [2, secretA],
      ]),
      1,
    );
    const raw = Buffer.from(encodeClickToken(both, payload()), 'base64url');
    raw[1] = 2;
    expect(decodeClickToken(both, raw.toString('base64url'))).toEqual({ ok: false, reason: 'auth-failed' });
  });

  it('expires after the maximum age and still reports the genuine payload', () => {
    const p = payload({ issuedAtMs: 1_000_000 });
    const token = encodeClickToken(ringA, p);
    const day = 86_400_000;
    expect(decodeClickToken(ringA, token, { maxAgeMs: day, nowMs: 1_000_000 + day }).ok).toBe(true);
    expect(decodeClickToken(ringA, token, { maxAgeMs: day, nowMs: 1_000_001 + day })).toEqual({
      ok: false,
      reason: 'expired',
      kid: 1,
      payload: p,
    });
    expect(decodeClickToken(ringA, token, { maxAgeMs: day, nowMs: 1_000_000 - 600_000 })).toMatchObject({
      ok: false,
      reason: 'not-yet-valid',
    });
  });

  it('keys rotate: the old key id still decodes while present, new tokens use the new one', () => {
    const before = createKeyring(new Map([[1, secretA]]), 1);
    const during = createKeyring(
      new Map([
        [1, secretA],
        [2, secretB],
      ]),
      2,
    );
    const after = createKeyring(new Map([[2, secretB]]), 2);
    const oldToken = encodeClickToken(before, payload());
    const newToken = encodeClickToken(during, payload());
    expect(decodeClickToken(during, oldToken)).toMatchObject({ ok: true, kid: 1 });
    expect(decodeClickToken(during, newToken)).toMatchObject({ ok: true, kid: 2 });
    expect(decodeClickToken(after, newToken)).toMatchObject({ ok: true, kid: 2 });
    expect(decodeClickToken(after, oldToken)).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('refuses to encode malformed payloads', () => {
    expect(() => encodeClickToken(ringA, payload({ pvId: 'x' }))).toThrow(/pvId/);
    expect(() => encodeClickToken(ringA, payload({ position: 0 }))).toThrow(/position/);
    expect(() => encodeClickToken(ringA, payload({ priceMicros: 1.5 }))).toThrow(/priceMicros/);
    expect(() => encodeClickToken(ringA, payload({ offerId: 'é' }))).toThrow(/offerId/);
    expect(() => encodeClickToken(ringA, payload({ clientDigest: 'zz' }))).toThrow(/clientDigest/);
    expect(() => encodeClickToken(ringA, payload({ landingUrl: 'x'.repeat(3000) }))).toThrow(/landingUrl/);
  });

  it('parses keys from configuration text (hex, base64, base64url; kid<n> or n)', () => {
    const hex = secretA.toString('hex');
    const b64 = secretB.toString('base64');
    const ring = parseClickKeys(`kid1:${hex},kid2:${b64}`, 'kid2');
    expect(ring.currentKid).toBe(2);
    expect([...ring.keys.keys()]).toEqual([1, 2]);
    const single = parseClickKeys([`7:${generateClickSecret()}`]);
    expect(single.currentKid).toBe(7);
    const t = encodeClickToken(createKeyring(new Map([[1, secretA]]), 1), payload());
    expect(decodeClickToken(ring, t).ok).toBe(true);
    expect(() => parseClickKeys(`kid1:${hex},kid2:${b64}`)).toThrow(/current/);
    expect(() => parseClickKeys(`kid1:${hex}`, 'kid3')).toThrow(/not in the ring/);
    expect(() => parseClickKeys(`kid1:abc`)).toThrow(/32 bytes/);
    expect(() => parseClickKeys(`kid300:${hex}`)).toThrow(/0\.\.255/);
    expect(() => parseClickKeys(`kid1:${hex},1:${hex}`)).toThrow(/twice/);
    expect(() => parseClickKeys('')).toThrow(/no click keys/);
    expect(parseKeyMaterial(secretA.toString('base64url'))).toEqual(secretA);
  });

  it('client digest depends on IP and user agent, zero when unknown', () => {
    expect(clientDigest('1.2.3.4', 'ua')).toMatch(/^[0-9a-f]{16}$/);
    expect(clientDigest('1.2.3.4', 'ua')).toBe(clientDigest('1.2.3.4', 'ua'));
    expect(clientDigest('1.2.3.4', 'ua')).not.toBe(clientDigest('1.2.3.5', 'ua'));
    expect(clientDigest('1.2.3.4', 'ua')).not.toBe(clientDigest('1.2.3.4', 'ub'));
    expect(clientDigest(undefined, undefined)).toBe('0000000000000000');
  });
});
