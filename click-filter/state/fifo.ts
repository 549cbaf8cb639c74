// A first-in first-out queue of (key, number) records in two growable circular arrays: the order
// in which the dedup window saw its clicks, kept beside its Maps. Why not the Maps' own insertion
// order: V8 marks a deleted Map entry as a hole and skips holes when an iterator starts, so with
// entries deleted from the front (expiry, eviction) every "oldest entry" lookup walked over all
// the holes since the last rehash: 110 us a click once a 500,000-entry window was full (measured
// on this machine, Node 20). Here the oldest record is at `head`, O(1).
//
// Concurrency: synchronous, single owner.

export class Fifo {
  private keys: string[] = new Array<string>(1024);
  private values: number[] = new Array<number>(1024).fill(0);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(key: string, value: number): void {
    if (this.count === this.keys.length) this.grow();
    const at = (this.head + this.count) & (this.keys.length - 1);
    this.keys[at] = key;
    this.values[at] = value;
    this.count++;
  }

  /** The oldest record's key (undefined when empty). */
  peekKey(): string | undefined {
    return this.count === 0 ? undefined : this.keys[this.head];
  }

  /** The oldest record's value (NaN when empty). */
  peekValue(): number {
    return this.count === 0 ? Number.NaN : this.values[this.head]!;
  }

  /** Drops the oldest record. */
  shift(): void {
    if (this.count === 0) return;
    this.keys[this.head] = '';
    this.head = (this.head + 1) & (this.keys.length - 1);
    this.count--;
  }

  /** Doubles the arrays (their length stays a power of two), oldest record first. */
  private grow(): void {
    const n = this.keys.length;
    const keys = new Array<string>(n * 2);
    const values = new Array<number>(n * 2).fill(0);
    for (let i = 0; i < this.count; i++) {
      keys[i] = this.keys[(this.head + i) & (n - 1)]!;
      values[i] = this.values[(this.head + i) & (n - 1)]!;
    }
    this.keys = keys;
    this.values = values;
    this.head = 0;
  }
}
