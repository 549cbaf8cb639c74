import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GCM_TAG_BYTES, type GcmMessage, GcmSealer } from './gcm-seal.js';

function sealOne(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const out = Buffer.alloc(plaintext.length + GCM_TAG_BYTES);
  new GcmSealer(key).sealAll([{ nonce, aad, plaintext, out, outOffset: 0 }]);
  return out;
}

function openssl(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

const hex = (s: string) => Buffer.from(s, 'hex');

describe('GcmSealer', () => {
  // McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13-16 (AES-256).
  const K15 = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const IV15 = hex('cafebabefacedbaddecaf888');
  const P15 = hex(
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
  );
  const C15 =
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
  it.each([
    [
      '13',
      Buffer.alloc(32),
      Buffer.alloc(12),
      Buffer.alloc(0),
      Buffer.alloc(0),
      '',
      '530f8afbc74536b9a963b4f1c4cb738b',
    ],
    [
      '14',
      Buffer.alloc(32),
      Buffer.alloc(12),
      Buffer.alloc(0),
      Buffer.alloc(16),
      'cea7403d4d606b6e074ec5d3baf39d18',
      'd0d1c8a799996bf0265b98b5d48ab919',
    ],
    ['15', K15, IV15, Buffer.alloc(0), P15, C15, 'b094dac5d93471bdec1a502270e3cc6c'],
    [
      '16',
      K15,
      IV15,
      hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
      P15.subarray(0, 60),
      C15.slice(0, 120),
      '76fc6ece0f4e1768cddf8853bb2d551b',
    ],
  ])('matches the published test case %s', (_name, key, nonce, aad, plaintext, ct, tag) => {
    expect(sealOne(key, nonce, aad, plaintext).toString('hex')).toBe(ct + tag);
  });

  it('gives what OpenSSL gives, byte for byte, on random keys, nonces, AADs and lengths', () => {
    for (let round = 0; round < 300; round++) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(randomInt(0, 40));
      const plaintext = randomBytes(randomInt(0, 300));
      expect(sealOne(key, nonce, aad, plaintext).equals(openssl(key, nonce, aad, plaintext))).toBe(true);
    }
  });

  it('seals a batch in one call, each message as if alone, and OpenSSL opens each', () => {
    const key = randomBytes(32);
    const sealer = new GcmSealer(key);
    for (let round = 0; round < 20; round++) {
      const messages: GcmMessage[] = [];
      for (let i = 0; i < randomInt(1, 70); i++) {
        const plaintext = randomBytes(randomInt(0, 200));
        const out = Buffer.alloc(5 + plaintext.length + GCM_TAG_BYTES);
        messages.push({ nonce: randomBytes(12), aad: randomBytes(2), plaintext, out, outOffset: 5 });
      }
      sealer.sealAll(messages);
      for (const m of messages) {
        const sealed = Buffer.from(m.out.subarray(5));
        const nonce = Buffer.from(m.nonce);
        const aad = Buffer.from(m.aad);
        expect(sealed.equals(openssl(key, nonce, aad, Buffer.from(m.plaintext)))).toBe(true);
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(aad);
        d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
        const opened = Buffer.concat([
          d.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)),
          d.final(),
        ]);
        expect(opened.equals(Buffer.from(m.plaintext))).toBe(true);
      }
    }
  });

  it('seals in place (plaintext inside out, at outOffset)', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = Buffer.from([1, 7]);
    const plaintext = randomBytes(150);
    const out = Buffer.alloc(14 + 150 + GCM_TAG_BYTES);
    plaintext.copy(out, 14);
    new GcmSealer(key).sealAll([{ nonce, aad, plaintext: out.subarray(14, 164), out, outOffset: 14 }]);
    expect(out.subarray(14).equals(openssl(key, nonce, aad, plaintext))).toBe(true);
  });

  it('refuses a nonce that is not 12 bytes', () => {
    const out = Buffer.alloc(32);
    expect(() =>
      new GcmSealer(randomBytes(32)).sealAll([
        { nonce: randomBytes(16), aad: Buffer.alloc(0), plaintext: Buffer.alloc(4), out, outOffset: 0 },
      ]),
    ).toThrow(RangeError);
  });
});
