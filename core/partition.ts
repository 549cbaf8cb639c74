// The stable partition of offers into columns: FNV-1a 32-bit over the offer id's UTF-8 bytes,
// modulo the number of columns. Used by the index builder (which column a row goes to), by every
// searcher (which change messages belong to its column) and later by dispatch. Pure; no state.
//
// The hash must never change for a deployed index: a different function would put offers in
// columns whose searchers ignore their change messages. The test pins known vectors.

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a 32-bit hash of the UTF-8 encoding of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  return fnv1a32Continue(FNV_OFFSET_BASIS, text);
}

/**
 * Continues an FNV-1a hash `h` (of the text before) over `text`: fnv1a32Continue(fnv1a32(a), b)
 * equals fnv1a32(a + b) (for a that does not end inside a surrogate pair), without building a + b.
 */
export function fnv1a32Continue(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // Encode this code point as UTF-8 bytes on the fly (no Buffer allocation on the hot path).
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = c <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // lone surrogate: encoded as U+FFFD, as Buffer.from(text) does
      }
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    }
  }
  return h >>> 0;
}

/** The column (0..columns-1) that owns the offer `offerId` and all of its bidwords. */
export function columnOf(offerId: string, columns: number): number {
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be >= 1, got ${columns}`);
  return fnv1a32(offerId) % columns;
}

/** The name of this partition function, recorded in every index manifest. */
export const PARTITION_FUNCTION = 'fnv1a32-utf8-mod' as const;
