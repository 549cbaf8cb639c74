// The column's retrieval lists (IndexState's exact, phrase and broad lists of bidword handles)
// in one Int32Array outside the V8 heap: list `l` holds items[start[l] .. start[l] + length[l]),
// with room up to capacity[l]. A list that outgrows its room moves to the end of the arena with
// twice the room; the room it leaves is reclaimed by compact(), which runs when the arena would
// otherwise grow and at least half of it is left behind.
//
// Why: as JavaScript arrays the lists were about a fifth of a searcher's heap (290k arrays on the
// generated 100k-offer column), and the scavenger reads every old-generation page header
// (bidword-table.ts says why that matters).
//
// Concurrency model: single-threaded and synchronous, like IndexState which owns it. `items` may
// be replaced by any call that adds; readers take it after their last add.

export class ListArena {
  items = new Int32Array(4096);
  start = new Uint32Array(1024);
  length = new Uint32Array(1024);
  capacity = new Uint32Array(1024);
  /** Arena positions in use (by lists or left behind by moved or dropped ones). */
  private used = 0;
  private left = 0;
  /** List ids ever given out (the meta arrays' used length). */
  private ids = 0;
  private readonly free: number[] = [];
  /** 1 at ids of live lists. */
  private live = new Uint8Array(1024);

  /** Lists held. */
  get size(): number {
    return this.ids - this.free.length;
  }

  /** A new empty list's id. */
  create(): number {
    let l = this.free.pop();
    if (l === undefined) {
      l = this.ids++;
      if (l >= this.start.length) this.growMeta(this.start.length * 2);
    }
    this.start[l] = this.used;
    this.length[l] = 0;
    this.capacity[l] = 0;
    this.live[l] = 1;
    return l;
  }

  /** Drops a list; its id may be given out again. */
  drop(l: number): void {
    this.left += this.capacity[l]!;
    this.capacity[l] = 0;
    this.length[l] = 0;
    this.live[l] = 0;
    this.free.push(l);
  }

  push(l: number, value: number): void {
    const n = this.length[l]!;
    if (n === this.capacity[l]) this.reserve(l, n + 1);
    this.items[this.start[l]! + n] = value;
    this.length[l] = n + 1;
  }

  /** Inserts at position `at` (0 .. length), moving the later items up. */
  insert(l: number, at: number, value: number): void {
    const n = this.length[l]!;
    if (n === this.capacity[l]) this.reserve(l, n + 1);
    const s = this.start[l]!;
    this.items.copyWithin(s + at + 1, s + at, s + n);
    this.items[s + at] = value;
    this.length[l] = n + 1;
  }

  /** Removes the item at position `at`, keeping the order of the rest. */
  removeAt(l: number, at: number): void {
    const s = this.start[l]!;
    const n = this.length[l]!;
    this.items.copyWithin(s + at, s + at + 1, s + n);
    this.length[l] = n - 1;
  }

  /**
   * Takes the first `value` out of list `l`, keeping the order of the rest; a list left empty is
   * dropped. Returns 'dropped', 'removed', or 'absent' (not in the list).
   */
  remove(l: number, value: number): 'dropped' | 'removed' | 'absent' {
    const i = this.indexOf(l, value);
    if (i < 0) return 'absent';
    if (this.length[l] === 1) {
      this.drop(l);
      return 'dropped';
    }
    this.removeAt(l, i);
    return 'removed';
  }

  /** Position of `value` in list `l`, or -1. */
  indexOf(l: number, value: number): number {
    const s = this.start[l]!;
    const end = s + this.length[l]!;
    const items = this.items;
    for (let i = s; i < end; i++) if (items[i] === value) return i - s;
    return -1;
  }

  /** The list's items (a view: valid until the next add). */
  view(l: number): Int32Array {
    const s = this.start[l]!;
    return this.items.subarray(s, s + this.length[l]!);
  }

  /** Moves every list to the front of the arena, each with no spare room (after bulk loading). */
  compact(): void {
    let total = 0;
    for (let l = 0; l < this.ids; l++) if (this.live[l] === 1) total += this.length[l]!;
    const fresh = new Int32Array(Math.max(4096, Math.ceil(total * 1.25)));
    let at = 0;
    for (let l = 0; l < this.ids; l++) {
      if (this.live[l] !== 1) continue;
      const s = this.start[l]!;
      const n = this.length[l]!;
      fresh.set(this.items.subarray(s, s + n), at);
      this.start[l] = at;
      this.capacity[l] = n;
      at += n;
    }
    this.items = fresh;
    this.used = at;
    this.left = 0;
  }

  /** Makes room for at least `need` items in list `l`. */
  private reserve(l: number, need: number): void {
    const s = this.start[l]!;
    const cap = this.capacity[l]!;
    const room = Math.max(need, cap * 2, 1);
    // The last list of the arena grows in place.
    if (s + cap === this.used && s + room <= this.items.length) {
      this.used = s + room;
      this.capacity[l] = room;
      return;
    }
    if (this.used + room > this.items.length) {
      if (this.left * 2 > this.used) this.compact();
      if (this.used + room > this.items.length) {
        const grown = new Int32Array(Math.max(this.items.length * 2, this.used + room));
        grown.set(this.items.subarray(0, this.used));
        this.items = grown;
      }
    }
    const from = this.start[l]!;
    const to = this.used;
    this.items.copyWithin(to, from, from + this.length[l]!);
    this.left += this.capacity[l]!;
    this.start[l] = to;
    this.capacity[l] = room;
    this.used = to + room;
  }

  private growMeta(size: number): void {
    const grow = (a: Uint32Array) => {
      const b = new Uint32Array(size);
      b.set(a);
      return b;
    };
    this.start = grow(this.start);
    this.length = grow(this.length);
    this.capacity = grow(this.capacity);
    const live = new Uint8Array(size);
    live.set(this.live);
    this.live = live;
  }
}
