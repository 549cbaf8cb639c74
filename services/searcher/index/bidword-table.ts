// The column's bidwords outside the V8 heap: one row per held bidword (positive or negative,
// attached to its offer or pending), its fields side by side in one Int32Array (eight per row,
// 32 bytes: one cache line holds what a visit reads), addressed by an integer handle. The ids are
// UTF-8 bytes in one buffer, found by an open-addressing hash table that is itself a typed array;
// the shared texts (keyword, normalized keyword, broad key) are refs into a StringPool
// (string-pool.ts).
//
// Why: as JavaScript objects the bidwords were most of a searcher's heap (on the generated
// 100k-offer column, 482k records, their id and offer-id strings, the id Map and the list arrays:
// over half of 217 MB). Every scavenge reads the header of every old-generation page (about
// 370 ns a 256 KB page on the development VM, 2-3 ms a scavenge at a 500k-offer column's 1.3 GB
// heap: BENCHMARKS.md, night of 2026-12-07), and a scavenge that lands inside a query is what
// held a searcher's event loop over 5 ms. Memory outside the heap is not walked by the GC.
//
// A handle is reused after its bidword is removed; the ids' bytes of removed bidwords are
// reclaimed by compacting the id buffer when it would otherwise grow.
//
// Why one array of rows and not an array per field: a visit reads one row, one cache line, where
// a typed array per field made it four. Either way the searchers cost 3-12 us more a request in
// the query-path bench than with JavaScript records, though a warm in-process loop is as fast:
// a visit now reaches the offer's record through IndexState.slots, one more cache line
// (BENCHMARKS.md, "Late evening of 2026-12-07").
//
// Concurrency model: single-threaded and synchronous, like IndexState which owns it. Callers may
// keep `rows` in a local while they only read: add() can replace it.
import type { MatchType } from '../../../core/model.js';
import { fnv1a32 } from '../../../core/partition.js';
import { StringPool } from './string-pool.js';

/** Match types by code (matchCode); the negative ones have codes >= NEGATIVE_CODE. */
export const MATCH_TYPE_OF_CODE: readonly MatchType[] = [
  'exact',
  'phrase',
  'broad',
  'negative-exact',
  'negative-phrase',
];
export const EXACT_CODE = 0;
export const PHRASE_CODE = 1;
export const BROAD_CODE = 2;
export const NEGATIVE_EXACT_CODE = 3;
export const NEGATIVE_CODE = 3;

const CODE_OF_MATCH_TYPE: Readonly<Record<string, number>> = {
  exact: 0,
  phrase: 1,
  broad: 2,
  'negative-exact': 3,
  'negative-phrase': 4,
};

/** offerSlot of a pending bidword (its offer is not in the column). */
export const PENDING = -1;
/** offerSlot of a free handle. */
const FREE = -2;
/** Hash table cells: empty, and a removed entry a probe must walk past. */
const EMPTY = 0;
const TOMBSTONE = -1;

/** The code of a match type (exact 0, phrase 1, broad 2, negative-exact 3, negative-phrase 4). */
export function matchCodeOf(matchType: string): number {
  const code = CODE_OF_MATCH_TYPE[matchType];
  if (code === undefined) throw new Error(`unknown match type ${JSON.stringify(matchType)}`);
  return code;
}

/** The id's hash as the Int32Array `hashes` stores it (core/partition.ts's FNV-1a, signed). */
function hashId(id: string): number {
  return fnv1a32(id) | 0;
}

/** Ints per row of BidwordTable.rows, and each field's place in a row. */
export const STRIDE = 8;
/** The offer's slot (IndexState.slots) of an attached bidword; PENDING while its offer is absent. */
export const OFFER_SLOT = 0;
/** bidMicros (at most 10^9, so it fits); 0 for negative keywords. */
export const BID = 1;
/** Match code in the low 8 bits, the normalized keyword's token count (0 = never matches) above. */
const CODE_TOKENS = 2;
/** StringPool refs of the keyword, its normalized form and its list key (broad: sorted tokens). */
const KEYWORD_REF = 3;
const NORM_REF = 4;
const KEY_REF = 5;
/** The next bidword of the same offer (IndexState's chains), or -1; the next free handle when free. */
const NEXT = 6;
/**
 * The quality (bp) of its offer while attached, kept here (IndexState sets it) so that a list's
 * rank, bid x quality, is read from the row alone: a second array by offer slot cost a cache miss
 * a visit.
 */
export const QUALITY = 7;

export class BidwordTable {
  /** STRIDE ints per handle (the field constants above). */
  rows = new Int32Array(0);
  private capacity = 0;
  private idStart = new Uint32Array(0);
  private idLength = new Uint16Array(0);
  /** hashId of each id (probing and rehashing; not read by a search). */
  private hashes = new Int32Array(0);
  private idBytes = Buffer.allocUnsafeSlow(0);
  /**
   * The id as a string, by handle, once it was asked for (a hit or a tie written): decoding the
   * bytes on every hit made writing an answer about a tenth of a query's time. Only bidwords that
   * were answered get one, a few tens of bytes each.
   */
  private idStrings: (string | undefined)[] = [];
  private idUsed = 0;
  /** Bytes of idBytes that belong to removed bidwords. */
  private idWasted = 0;
  /** handle + 1 by hash, EMPTY or TOMBSTONE; its length is a power of 2. */
  private table = new Int32Array(1024);
  private tombstones = 0;
  /** Handles ever used (the arrays' used length). */
  private used = 0;
  /** First free handle, chained through `next`, or -1. */
  private freeHead = -1;
  /** Bidwords held. */
  size = 0;
  readonly strings = new StringPool();

  constructor() {
    this.grow(1024);
  }

  /** Adds a bidword whose id is not held (check with find()); it starts PENDING. Returns its handle. */
  add(
    id: string,
    matchCode: number,
    bidMicros: number,
    tokenCount: number,
    keyword: string,
    norm: string,
    key: string,
  ): number {
    if (tokenCount > 0xffff) throw new Error('bidword table: a keyword of more than 65,535 tokens');
    let h = this.freeHead;
    if (h >= 0) {
      this.freeHead = this.rows[h * STRIDE + NEXT]!;
    } else {
      if (this.used === this.capacity) this.grow(this.used * 2);
      h = this.used++;
    }
    const r = h * STRIDE;
    const rows = this.rows;
    rows[r + OFFER_SLOT] = PENDING;
    rows[r + BID] = bidMicros;
    rows[r + CODE_TOKENS] = matchCode | (tokenCount << 8);
    rows[r + KEYWORD_REF] = this.strings.take(keyword);
    rows[r + NORM_REF] = this.strings.take(norm);
    rows[r + KEY_REF] = this.strings.take(key);
    rows[r + NEXT] = -1;
    rows[r + QUALITY] = 0;
    this.storeId(h, id);
    this.size++;
    if ((this.size + this.tombstones) * 2 > this.table.length) this.rehash();
    this.insertIntoTable(h);
    return h;
  }

  /** The handle of a held bidword id, or -1. */
  find(id: string): number {
    const hash = hashId(id);
    const table = this.table;
    const mask = table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const cell = table[i]!;
      if (cell === EMPTY) return -1;
      if (cell !== TOMBSTONE && this.hashes[cell - 1] === hash && this.idEquals(cell - 1, id))
        return cell - 1;
    }
  }

  /** Removes a held bidword; its handle becomes free. */
  remove(h: number): void {
    const table = this.table;
    const mask = table.length - 1;
    for (let i = this.hashes[h]! & mask; ; i = (i + 1) & mask) {
      const cell = table[i]!;
      if (cell === EMPTY) throw new Error(`bidword table: handle ${h} is not in the hash table`);
      if (cell === h + 1) {
        table[i] = TOMBSTONE;
        this.tombstones++;
        break;
      }
    }
    const r = h * STRIDE;
    this.strings.release(this.rows[r + KEYWORD_REF]!);
    this.strings.release(this.rows[r + NORM_REF]!);
    this.strings.release(this.rows[r + KEY_REF]!);
    this.idWasted += this.idLength[h]!;
    this.idStrings[h] = undefined;
    this.rows[r + OFFER_SLOT] = FREE;
    this.rows[r + NEXT] = this.freeHead;
    this.freeHead = h;
    this.size--;
  }

  id(h: number): string {
    let id = this.idStrings[h];
    if (id === undefined) {
      const start = this.idStart[h]!;
      id = this.idBytes.toString('utf8', start, start + this.idLength[h]!);
      this.idStrings[h] = id;
    }
    return id;
  }

  offerSlotOf(h: number): number {
    return this.rows[h * STRIDE + OFFER_SLOT]!;
  }

  setOfferSlot(h: number, slot: number): void {
    this.rows[h * STRIDE + OFFER_SLOT] = slot;
  }

  qualityOf(h: number): number {
    return this.rows[h * STRIDE + QUALITY]!;
  }

  setQuality(h: number, qualityBp: number): void {
    this.rows[h * STRIDE + QUALITY] = qualityBp;
  }

  bidOf(h: number): number {
    return this.rows[h * STRIDE + BID]!;
  }

  /** The match code (exact 0 ... negative-phrase 4). */
  codeOf(h: number): number {
    return this.rows[h * STRIDE + CODE_TOKENS]! & 0xff;
  }

  tokenCountOf(h: number): number {
    return this.rows[h * STRIDE + CODE_TOKENS]! >>> 8;
  }

  nextOf(h: number): number {
    return this.rows[h * STRIDE + NEXT]!;
  }

  setNext(h: number, next: number): void {
    this.rows[h * STRIDE + NEXT] = next;
  }

  /** Whether the list key is the normalized keyword itself (not a reordered broad key). */
  keyIsNorm(h: number): boolean {
    return this.rows[h * STRIDE + KEY_REF] === this.rows[h * STRIDE + NORM_REF];
  }

  keyword(h: number): string {
    return this.strings.text(this.rows[h * STRIDE + KEYWORD_REF]!);
  }

  norm(h: number): string {
    return this.strings.text(this.rows[h * STRIDE + NORM_REF]!);
  }

  key(h: number): string {
    return this.strings.text(this.rows[h * STRIDE + KEY_REF]!);
  }

  matchType(h: number): MatchType {
    return MATCH_TYPE_OF_CODE[this.codeOf(h)]!;
  }

  negative(h: number): boolean {
    return this.codeOf(h) >= NEGATIVE_CODE;
  }

  /** Orders two bidwords by id as JavaScript compares strings (UTF-16 code units). */
  compareIds(a: number, b: number): number {
    const bytes = this.idBytes;
    const sa = this.idStart[a]!;
    const sb = this.idStart[b]!;
    const la = this.idLength[a]!;
    const lb = this.idLength[b]!;
    const n = Math.min(la, lb);
    let i = 0;
    for (; i < n; i++) {
      const x = bytes[sa + i]!;
      const y = bytes[sb + i]!;
      if (x === y) continue;
      // Below 0x80 byte order is code-unit order; past it, compare the decoded strings.
      if (x >= 0x80 || y >= 0x80) break;
      return x - y;
    }
    // Equal bytes up to the shorter one: it is a prefix of the other, so it comes first.
    if (i === n) return la - lb;
    const ia = this.id(a);
    const ib = this.id(b);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  }

  private idEquals(h: number, id: string): boolean {
    const start = this.idStart[h]!;
    const n = this.idLength[h]!;
    const bytes = this.idBytes;
    if (n === id.length) {
      let i = 0;
      for (; i < n; i++) {
        const c = id.charCodeAt(i);
        if (c >= 0x80) break;
        if (bytes[start + i] !== c) return false;
      }
      if (i === n) return true;
    }
    return this.id(h) === id;
  }

  private storeId(h: number, id: string): void {
    const length = Buffer.byteLength(id, 'utf8');
    if (length > 0xffff) throw new Error('bidword table: an id longer than 65,535 bytes');
    if (this.idUsed + length > this.idBytes.length) {
      if (this.idWasted * 2 > this.idUsed) this.compactIds();
      if (this.idUsed + length > this.idBytes.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(this.idBytes.length * 2, this.idUsed + length, 4096));
        this.idBytes.copy(grown, 0, 0, this.idUsed);
        this.idBytes = grown;
      }
    }
    this.idBytes.write(id, this.idUsed, length, 'utf8');
    this.idStart[h] = this.idUsed;
    this.idLength[h] = length;
    this.hashes[h] = hashId(id);
    this.idUsed += length;
  }

  /** Copies the ids of held bidwords to the front of the id buffer, dropping the removed ones' bytes. */
  private compactIds(): void {
    const old = this.idBytes;
    const fresh = Buffer.allocUnsafeSlow(old.length);
    let at = 0;
    for (let h = 0; h < this.used; h++) {
      if (this.rows[h * STRIDE + OFFER_SLOT] === FREE) continue;
      const start = this.idStart[h]!;
      const length = this.idLength[h]!;
      old.copy(fresh, at, start, start + length);
      this.idStart[h] = at;
      at += length;
    }
    this.idBytes = fresh;
    this.idUsed = at;
    this.idWasted = 0;
  }

  private insertIntoTable(h: number): void {
    const table = this.table;
    const mask = table.length - 1;
    for (let i = this.hashes[h]! & mask; ; i = (i + 1) & mask) {
      const cell = table[i]!;
      if (cell === EMPTY || cell === TOMBSTONE) {
        if (cell === TOMBSTONE) this.tombstones--;
        table[i] = h + 1;
        return;
      }
    }
  }

  /** A table at least three times the held bidwords (it is rebuilt at half full), without tombstones. */
  private rehash(): void {
    let length = this.table.length;
    while (length < this.size * 3) length *= 2;
    this.table = new Int32Array(length);
    this.tombstones = 0;
    for (let h = 0; h < this.used; h++)
      if (this.rows[h * STRIDE + OFFER_SLOT] !== FREE) this.insertIntoTable(h);
  }

  /**
   * Gives back the room grown for more bidwords than are held (after bulk loading, where doubling
   * left up to half of every array unused), keeping an eighth spare for changes.
   */
  trim(): void {
    this.grow(Math.max(1024, Math.ceil(this.used * 1.125)));
    if (this.idWasted > 0) this.compactIds();
    const ids = Buffer.allocUnsafeSlow(Math.max(4096, Math.ceil(this.idUsed * 1.125)));
    this.idBytes.copy(ids, 0, 0, this.idUsed);
    this.idBytes = ids;
  }

  /** Resizes every per-handle array to `capacity` (at least `used`). */
  private grow(capacity: number): void {
    const keep = Math.min(this.used, capacity);
    const rows = new Int32Array(capacity * STRIDE);
    rows.set(this.rows.subarray(0, keep * STRIDE));
    this.rows = rows;
    const idStart = new Uint32Array(capacity);
    idStart.set(this.idStart.subarray(0, keep));
    this.idStart = idStart;
    const idLength = new Uint16Array(capacity);
    idLength.set(this.idLength.subarray(0, keep));
    this.idLength = idLength;
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes.subarray(0, keep));
    this.hashes = hashes;
    // Allocated at its full length (holes), so that setting any handle's entry stays a fast array.
    const idStrings: (string | undefined)[] = new Array(capacity);
    for (let h = 0; h < keep; h++) if (this.idStrings[h] !== undefined) idStrings[h] = this.idStrings[h];
    this.idStrings = idStrings;
    this.capacity = capacity;
  }
}
