// The click-token codec, shared by the blender (encodes one token per shown ad, into its click
// URL) and the click filter (decodes `GET /c/<token>`). A token is AES-256-GCM over a compact
// binary payload, base64url-encoded, with its format version and key id in clear as the
// authenticated header (AAD), so keys can rotate: the blender encrypts with the keyring's current
// key id, the click filter decrypts with whichever key the token names while that key is still in
// its ring. docs/api-blender.md describes the format byte by byte.
//
//   offset  size  clear, authenticated (AAD)
//   0       1     format version (1)
//   1       1     key id (0..255)
//   2       12    GCM nonce (random)
//   14      n     ciphertext of the payload below
//   14+n    16    GCM tag
//
//   payload: pvId (16 bytes, a UUID) | position (1 byte, 1..255) | issuedAtMs (varint)
//            | priceMicros (varint) | bidMicros (varint) | clientDigest (8 bytes)
//            | offerId, customerId, bidwordId (1-byte length + ASCII each)
//            | landingUrl (varint length + UTF-8)
//   varint = unsigned LEB128 of a safe integer.
//
// Concurrency: pure functions over an immutable keyring; the only state is a module-level pool of
// random nonce bytes (refilled synchronously in blocks; Node runs this on one thread). Keys are
// derived once when the keyring is built (HKDF-SHA256 of the configured secret, so the same secret
// is never used raw for anything else) and held as KeyObjects; each key gets one sealer (gcm-seal.ts:
// a long-lived AES cipher object and GHASH tables), built on first use. No JSON anywhere on this path.
import {
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  randomFillSync,
} from 'node:crypto';
import { type GcmMessage, GcmSealer } from './gcm-seal.js';

export const CLICK_TOKEN_VERSION = 1;
const HEADER_BYTES = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PV_ID_BYTES = 16;
export const CLIENT_DIGEST_BYTES = 8;
/** Longest landing URL a token carries (bytes of UTF-8). */
export const MAX_LANDING_URL_BYTES = 2048;
const MAX_ID_BYTES = 64;
/** Tokens longer than this (characters) are rejected before any decoding. */
export const MAX_TOKEN_CHARS = 4096;
const MIN_PAYLOAD_BYTES = PV_ID_BYTES + 1 + 3 + CLIENT_DIGEST_BYTES + 3 + 1;
const MIN_TOKEN_BYTES = HEADER_BYTES + NONCE_BYTES + MIN_PAYLOAD_BYTES + TAG_BYTES;
const HKDF_SALT = Buffer.from('imatch-ts click token', 'utf8');
const HKDF_INFO = Buffer.from('aes-256-gcm v1', 'utf8');

/** What a click token carries. */
export interface ClickTokenPayload {
  /** Page-view id (the blender's request id), a UUID in lower-case 8-4-4-4-12 form. */
  pvId: string;
  /** 1-based position of the ad on the page (1..255). */
  position: number;
  offerId: string;
  customerId: string;
  bidwordId: string;
  /** What a billable click on this ad costs (GSP price), micros. */
  priceMicros: number;
  /** The advertiser's bid when the ad was shown, micros (price never exceeds it). */
  bidMicros: number;
  /** When the blender issued the token, ms since the epoch. */
  issuedAtMs: number;
  landingUrl: string;
  /** clientDigest(ip, userAgent) of the end user who saw the ad, 16 hex characters. */
  clientDigest: string;
}

export type ClickTokenFailure = 'bad-format' | 'unknown-key' | 'auth-failed' | 'expired' | 'not-yet-valid';

export type ClickTokenResult =
  | { ok: true; kid: number; payload: ClickTokenPayload }
  /** Genuine (authenticated) but outside its time window: the payload is trustworthy, the click is not billable. */
  | { ok: false; reason: 'expired' | 'not-yet-valid'; kid: number; payload: ClickTokenPayload }
  | { ok: false; reason: 'bad-format' | 'unknown-key' | 'auth-failed' };

export interface ClickKeyring {
  /** Key id new tokens are encrypted with. */
  readonly currentKid: number;
  /** Derived keys by key id. */
  readonly keys: ReadonlyMap<number, KeyObject>;
}

export interface DecodeOptions {
  /** Reject tokens issued longer ago than this (ms); unset: no age check. */
  maxAgeMs?: number;
  /** The clock, ms since the epoch (default Date.now()). */
  nowMs?: number;
  /** Tolerated clock skew for tokens issued "in the future" (ms, default 300,000); only with maxAgeMs. */
  maxFutureSkewMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Parses a 256-bit secret given as 64 hex characters or as base64 / base64url (32 bytes). */
export function parseKeyMaterial(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const b = Buffer.from(t.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
    if (b.length === 32) return b;
  }
  throw new RangeError('a click key must be 32 bytes given as 64 hex characters or 43-44 base64 characters');
}

/** Parses a key id: a decimal 0..255, optionally written "kid7". */
export function parseKid(text: string): number {
  const m = /^(?:kid)?(\d{1,3})$/.exec(text.trim());
  const kid = m ? Number(m[1]) : Number.NaN;
  if (!(kid >= 0 && kid <= 255))
    throw new RangeError(
      `a click key id is a number 0..255 (optionally "kid<n>"), got ${JSON.stringify(text)}`,
    );
  return kid;
}

function deriveKey(secret: Uint8Array): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32)));
}

/** Builds a keyring from secrets by key id; `currentKid` must be one of them. */
export function createKeyring(
  secrets: ReadonlyMap<number, Uint8Array> | Record<number, Uint8Array>,
  currentKid: number,
): ClickKeyring {
  const entries = secrets instanceof Map ? [...secrets.entries()] : Object.entries(secrets);
  const keys = new Map<number, KeyObject>();
  for (const [k, secret] of entries) {
    const kid = typeof k === 'number' ? k : parseKid(k);
    if (kid < 0 || kid > 255 || !Number.isInteger(kid)) throw new RangeError(`key id ${kid} is not 0..255`);
    if (secret.length !== 32) throw new RangeError(`key ${kid} must be 32 bytes, got ${secret.length}`);
    keys.set(kid, deriveKey(secret));
  }
  if (!keys.has(currentKid))
    throw new RangeError(`current key id ${currentKid} is not in the ring (${[...keys.keys()].join(', ')})`);
  return Object.freeze({ currentKid, keys });
}

/**
 * Parses the configuration form `kid1:BASE64,kid2:HEX` (or its items as an array) into a keyring.
 * `currentKid` may be omitted when there is exactly one key.
 */
export function parseClickKeys(spec: string | readonly string[], currentKid?: string): ClickKeyring {
  const items = (typeof spec === 'string' ? spec.split(',') : spec).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new RangeError('no click keys given (expected kid:KEY[,kid:KEY...])');
  const secrets = new Map<number, Uint8Array>();
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon < 0)
      throw new RangeError(`click key ${JSON.stringify(item.slice(0, 8))}... has no "kid:" prefix`);
    const kid = parseKid(item.slice(0, colon));
    if (secrets.has(kid)) throw new RangeError(`click key id ${kid} is given twice`);
    secrets.set(kid, parseKeyMaterial(item.slice(colon + 1)));
  }
  let current: number;
  if (currentKid !== undefined && currentKid !== '') current = parseKid(currentKid);
  else if (secrets.size === 1) current = [...secrets.keys()][0]!;
  else throw new RangeError('several click keys are given: name the current one (click key id)');
  return createKeyring(secrets, current);
}

/** A fresh random 256-bit secret, base64url (for demos and key rotation). */
export function generateClickSecret(): string {
  return randomBytes(32).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// Client digest

const ZERO_DIGEST = '0'.repeat(CLIENT_DIGEST_BYTES * 2);

/**
 * 8-byte digest (16 hex chars) of the end user's IP and user agent, as the click filter can
 * observe them again at click time. All zeros when neither is known.
 */
export function clientDigest(ip: string | undefined, userAgent: string | undefined): string {
  if (!ip && !userAgent) return ZERO_DIGEST;
  return createHash('sha256')
    .update(ip ?? '')
    .update('\n')
    .update(userAgent ?? '')
    .digest()
    .toString('hex', 0, CLIENT_DIGEST_BYTES);
}

// ---------------------------------------------------------------------------------------------
// Encode

const NONCE_POOL_TOKENS = 256;
let noncePool = Buffer.allocUnsafe(0);
let nonceOffset = 0;

function nextNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * NONCE_POOL_TOKENS));
    nonceOffset = 0;
  }
  const n = noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX16 = /^[0-9a-f]{16}$/;

function writeVarint(buf: Buffer, offset: number, v: number): number {
  while (v >= 128) {
    buf[offset++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

function writeAsciiId(buf: Buffer, offset: number, id: string, name: string): number {
  const len = id.length;
  if (len < 1 || len > MAX_ID_BYTES) throw new RangeError(`${name} must be 1..${MAX_ID_BYTES} characters`);
  buf[offset++] = len;
  for (let i = 0; i < len; i++) {
    const c = id.charCodeAt(i);
    if (c > 127) throw new RangeError(`${name} must be ASCII`);
    buf[offset++] = c;
  }
  return offset;
}

function checkMicros(v: number, name: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative safe integer`);
}

// The blender encodes n tokens per page with the same pvId: remember the last one's bytes.
let lastPvId = '';
const lastPvBytes = Buffer.alloc(PV_ID_BYTES);
// Plaintext scratch space, reused (each token copies its bytes out); large enough for any payload.
const scratch = Buffer.allocUnsafe(
  PV_ID_BYTES + 1 + 3 * 8 + CLIENT_DIGEST_BYTES + 3 * (1 + MAX_ID_BYTES) + 2 + MAX_LANDING_URL_BYTES,
);

function pvIdBytes(pvId: string): Buffer {
  if (pvId !== lastPvId) {
    if (!UUID.test(pvId)) throw new RangeError('pvId must be a UUID');
    lastPvBytes.write(pvId.replace(/-/g, ''), 0, 'hex');
    lastPvId = pvId;
  }
  return lastPvBytes;
}

/** Encrypts one payload with the keyring's current key. Throws RangeError on a malformed payload. */
export function encodeClickToken(ring: ClickKeyring, p: ClickTokenPayload): string {
  return encodeClickTokens(ring, [p])[0]!;
}

/**
 * Encrypts each payload with the keyring's current key (the n tokens of one answer), with one call
 * into OpenSSL for all of them (gcm-seal.ts). Throws RangeError on a malformed payload, before
 * anything is encrypted.
 */
export function encodeClickTokens(ring: ClickKeyring, payloads: readonly ClickTokenPayload[]): string[] {
  const key = ring.keys.get(ring.currentKid);
  if (key === undefined) throw new RangeError(`current key id ${ring.currentKid} is not in the ring`);
  const messages: GcmMessage[] = new Array(payloads.length);
  for (let i = 0; i < payloads.length; i++) {
    const end = writePlaintext(payloads[i]!, scratch);
    const out = Buffer.allocUnsafe(HEADER_BYTES + NONCE_BYTES + end + TAG_BYTES);
    out[0] = CLICK_TOKEN_VERSION;
    out[1] = ring.currentKid;
    nextNonce().copy(out, HEADER_BYTES);
    const at = HEADER_BYTES + NONCE_BYTES;
    scratch.copy(out, at, 0, end);
    messages[i] = {
      nonce: out.subarray(HEADER_BYTES, at),
      aad: out.subarray(0, HEADER_BYTES),
      plaintext: out.subarray(at, at + end),
      out,
      outOffset: at,
    };
  }
  sealerOf(key).sealAll(messages);
  return messages.map((m) => (m.out as Buffer).toString('base64url'));
}

// One sealer (a long-lived AES cipher object and GHASH tables) per derived key.
const sealers = new WeakMap<KeyObject, GcmSealer>();

function sealerOf(key: KeyObject): GcmSealer {
  let sealer = sealers.get(key);
  if (sealer === undefined) {
    sealer = new GcmSealer(key);
    sealers.set(key, sealer);
  }
  return sealer;
}

/** Checks a payload and writes its plaintext bytes into plain; returns their length. */
function writePlaintext(p: ClickTokenPayload, plain: Buffer): number {
  const pv = pvIdBytes(p.pvId);
  if (!Number.isInteger(p.position) || p.position < 1 || p.position > 255)
    throw new RangeError('position must be 1..255');
  checkMicros(p.priceMicros, 'priceMicros');
  checkMicros(p.bidMicros, 'bidMicros');
  checkMicros(p.issuedAtMs, 'issuedAtMs');
  if (p.clientDigest.length !== CLIENT_DIGEST_BYTES * 2 || !HEX16.test(p.clientDigest))
    throw new RangeError('clientDigest must be 16 lower-case hex characters');

  pv.copy(plain, 0);
  let o = PV_ID_BYTES;
  plain[o++] = p.position;
  o = writeVarint(plain, o, p.issuedAtMs);
  o = writeVarint(plain, o, p.priceMicros);
  o = writeVarint(plain, o, p.bidMicros);
  o += plain.write(p.clientDigest, o, 'hex');
  o = writeAsciiId(plain, o, p.offerId, 'offerId');
  o = writeAsciiId(plain, o, p.customerId, 'customerId');
  o = writeAsciiId(plain, o, p.bidwordId, 'bidwordId');
  // The URL goes last: write it after a 2-byte gap, then close the gap if its length fits 1 byte.
  const urlAt = o + 2;
  if (
    p.landingUrl.length > MAX_LANDING_URL_BYTES / 3 &&
    Buffer.byteLength(p.landingUrl, 'utf8') > MAX_LANDING_URL_BYTES
  )
    throw new RangeError(`landingUrl is over ${MAX_LANDING_URL_BYTES} bytes`);
  const urlBytes = plain.write(p.landingUrl, urlAt, 'utf8');
  if (urlBytes < 128) {
    plain[o] = urlBytes;
    plain.copyWithin(o + 1, urlAt, urlAt + urlBytes);
    return o + 1 + urlBytes;
  }
  writeVarint(plain, o, urlBytes); // 2 bytes for 128..16383
  return urlAt + urlBytes;
}

// ---------------------------------------------------------------------------------------------
// Decode

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++)
  B64_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/** Canonical unpadded base64url only: right alphabet, and the unused bits of the last char are 0. */
function isCanonicalBase64url(token: string): boolean {
  if (!BASE64URL.test(token)) return false;
  const rem = token.length % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  const last = B64_VALUE[token.charCodeAt(token.length - 1)]!;
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

class Reader {
  o = 0;
  constructor(readonly b: Buffer) {}
  need(n: number): void {
    if (this.o + n > this.b.length) throw new RangeError('truncated');
  }
  byte(): number {
    this.need(1);
    return this.b[this.o++]!;
  }
  varint(): number {
    let v = 0;
    let mult = 1;
    for (let i = 0; i < 8; i++) {
      const c = this.byte();
      v += (c & 127) * mult;
      if (c < 128) {
        if (!Number.isSafeInteger(v)) throw new RangeError('varint too large');
        return v;
      }
      mult *= 128;
    }
    throw new RangeError('varint too long');
  }
  hex(n: number): string {
    this.need(n);
    const s = this.b.toString('hex', this.o, this.o + n);
    this.o += n;
    return s;
  }
  ascii(): string {
    const len = this.byte();
    if (len < 1 || len > MAX_ID_BYTES) throw new RangeError('bad id length');
    this.need(len);
    const s = this.b.toString('latin1', this.o, this.o + len);
    this.o += len;
    return s;
  }
  utf8(): string {
    const len = this.varint();
    if (len > MAX_LANDING_URL_BYTES) throw new RangeError('url too long');
    this.need(len);
    const s = this.b.toString('utf8', this.o, this.o + len);
    this.o += len;
    return s;
  }
}

function parsePayload(plain: Buffer): ClickTokenPayload {
  const r = new Reader(plain);
  const h = r.hex(PV_ID_BYTES);
  const pvId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const position = r.byte();
  const issuedAtMs = r.varint();
  const priceMicros = r.varint();
  const bidMicros = r.varint();
  const digest = r.hex(CLIENT_DIGEST_BYTES);
  const offerId = r.ascii();
  const customerId = r.ascii();
  const bidwordId = r.ascii();
  const landingUrl = r.utf8();
  if (r.o !== plain.length) throw new RangeError('trailing bytes');
  return {
    pvId,
    position,
    offerId,
    customerId,
    bidwordId,
    priceMicros,
    bidMicros,
    issuedAtMs,
    landingUrl,
    clientDigest: digest,
  };
}

/**
 * Decrypts and verifies a token. Never throws on bad input: a failure comes back as a reason.
 * 'expired' / 'not-yet-valid' (only with options.maxAgeMs) still carry the authenticated payload.
 */
export function decodeClickToken(
  ring: ClickKeyring,
  token: string,
  options?: DecodeOptions,
): ClickTokenResult {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !isCanonicalBase64url(token))
    return { ok: false, reason: 'bad-format' };
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < MIN_TOKEN_BYTES || raw[0] !== CLICK_TOKEN_VERSION)
    return { ok: false, reason: 'bad-format' };
  const kid = raw[1]!;
  const key = ring.keys.get(kid);
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      key,
      raw.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
    );
    decipher.setAAD(raw.subarray(0, HEADER_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const body = decipher.update(raw.subarray(HEADER_BYTES + NONCE_BYTES, raw.length - TAG_BYTES));
    const fin = decipher.final();
    plain = fin.length === 0 ? body : Buffer.concat([body, fin]);
  } catch {
    return { ok: false, reason: 'auth-failed' };
  }
  let payload: ClickTokenPayload;
  try {
    payload = parsePayload(plain);
  } catch {
    return { ok: false, reason: 'bad-format' };
  }
  if (options?.maxAgeMs !== undefined) {
    const now = options.nowMs ?? Date.now();
    if (now - payload.issuedAtMs > options.maxAgeMs) return { ok: false, reason: 'expired', kid, payload };
    if (payload.issuedAtMs - now > (options.maxFutureSkewMs ?? 300_000))
      return { ok: false, reason: 'not-yet-valid', kid, payload };
  }
  return { ok: true, kid, payload };
}
