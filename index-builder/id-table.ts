// Duplicate-id detection for millions of snapshot rows without a JS Set of strings: an
// open-addressing table of (32-bit id hash, row number) in typed arrays. Ids are compared as
// strings only when their hashes are equal (rare), through a callback that fetches a row's id, so
// the table itself holds no strings and grows by rehashing integers.
//
// Concurrency model: plain synchronous object, used by the build's main thread only.

const EMPTY = -1;

export class IdTable {
  private hashes: Uint32Array;
  private rows: Int32Array;
  private bits: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    this.bits = Math.max(4, Math.ceil(Math.log2(initialCapacity)));
    this.hashes = new Uint32Array(1 << this.bits);
    this.rows = new Int32Array(1 << this.bits).fill(EMPTY);
  }

  private slotOf(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> (32 - this.bits);
  }

  /**
   * Adds row `row` whose id hashes to `hash`, unless a row with an equal id is already there.
   * Returns that earlier row, or -1 when `row` was added. `id()` gives the new row's id and
   * `idOfRow(r)` an earlier row's; both are called only for rows whose hashes collide.
   */
  add(hash: number, row: number, id: () => string, idOfRow: (r: number) => string): number {
    if ((this.size + 1) * 2 > this.rows.length) this.grow();
    const mask = this.rows.length - 1;
    let slot = this.slotOf(hash);
    let mine: string | undefined;
    for (;;) {
      const r = this.rows[slot]!;
      if (r === EMPTY) {
        this.hashes[slot] = hash;
        this.rows[slot] = row;
        this.size++;
        return -1;
      }
      if (this.hashes[slot] === hash) {
        mine ??= id();
        if (idOfRow(r) === mine) return r;
      }
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const oldHashes = this.hashes;
    const oldRows = this.rows;
    this.bits++;
    this.hashes = new Uint32Array(1 << this.bits);
    this.rows = new Int32Array(1 << this.bits).fill(EMPTY);
    const mask = this.rows.length - 1;
    for (let i = 0; i < oldRows.length; i++) {
      const r = oldRows[i]!;
      if (r === EMPTY) continue;
      const h = oldHashes[i]!;
      let slot = this.slotOf(h);
      while (this.rows[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.hashes[slot] = h;
      this.rows[slot] = r;
    }
  }
}
