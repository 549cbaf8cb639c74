// The generator's seeded pseudo-random numbers. Owns: turning a text seed into independent,
// reproducible streams (one per customer, per offer, per phase), so any entity can be
// regenerated later from (seed, stream name, index) without keeping it in memory; that is what
// lets the change stream refer to snapshot rows it never stored.
//
// Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes
// PractRand to many TB) seeded through MurmurHash3's fmix32 finalizer. Only 32-bit integer
// arithmetic (Math.imul, >>> 0), so the numbers are identical on every platform. Never
// Math.random, never the clock. Single-threaded and synchronous: an Rng is a plain object.

/** FNV-1a over UTF-16 code units, then fmix32: a stable 32-bit hash of a text. */
export function hashText(text: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return fmix32(h);
}

/** MurmurHash3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const TWO_32 = 4294967296;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  // The state right after seeding, kept so derive() does not depend on how far this stream ran.
  private readonly seedA: number;
  private readonly seedB: number;
  private readonly seedC: number;
  private readonly seedD: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = this.seedA = a >>> 0;
    this.b = this.seedB = b >>> 0;
    this.c = this.seedC = c >>> 0;
    this.d = this.seedD = d >>> 0;
    // sfc32's author recommends discarding the first outputs after seeding.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The root generator of a run: every stream is derived from the seed text alone. */
  static fromSeed(seed: string): Rng {
    return new Rng(hashText(seed, 1), hashText(seed, 2), hashText(seed, 3), hashText(seed, 4));
  }

  /**
   * An independent stream named (stream, index), e.g. ("offer", 123456). Does not advance this
   * generator: the same (seed, stream, index) always gives the same numbers, whatever was
   * drawn before.
   */
  derive(stream: string, index = 0): Rng {
    const s = hashText(stream);
    const lo = index >>> 0;
    const hi = Math.floor(index / TWO_32) >>> 0;
    return new Rng(
      fmix32(this.seedA ^ s ^ lo),
      fmix32(this.seedB ^ Math.imul(s, 0x9e3779b1) ^ hi),
      fmix32(this.seedC ^ lo ^ 0x6a09e667),
      fmix32(this.seedD ^ s ^ 0xbb67ae85) ^ Math.imul(lo, 0x27d4eb2f),
    );
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / TWO_32;
  }

  /** Uniform in (0, 1]: safe to take a logarithm of. */
  floatOpen(): number {
    return (this.u32() + 1) / TWO_32;
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element. The array must not be empty. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** Standard normal deviate (Box-Muller; one of the pair is discarded for simplicity). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.floatOpen())) * Math.cos(2 * Math.PI * this.float());
  }

  /** exp(N(ln(median), sigma)): a log-normal deviate with the given median. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** k distinct elements in random order (k is clamped to the array length). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.float() * (copy.length - i));
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy.slice(0, n);
  }
}
