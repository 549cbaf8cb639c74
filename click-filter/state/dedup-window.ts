// "Have I seen this click in the last W ms?" with bounded memory. One Map from click key to the
// time it was first seen; Map iteration order is insertion order, and insertions come in clock
// order, so expired entries are always at the front and are dropped from there (amortised O(1)
// per click). When the map is full the oldest entry is dropped early and counted: the window is
// then shorter than configured, which the hourly correction and billing's at-most-once charge per
// click id cover (docs/clicks-and-billing.md).
//
// Concurrency: used from the event loop only; every call is synchronous.

export class DedupWindow {
  private readonly seen = new Map<string, number>();
  /** Entries dropped before their window ended because the map was full. */
  evictedEarly = 0;

  constructor(private readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError('maxEntries must be >= 1');
  }

  /**
   * Records `key` at `nowMs` unless it was seen within `windowMs`; returns true when it was (a
   * duplicate). A duplicate does not extend the window of the first sighting.
   */
  seenWithin(key: string, nowMs: number, windowMs: number): boolean {
    this.expire(nowMs, windowMs);
    const first = this.seen.get(key);
    if (first !== undefined && nowMs - first < windowMs) return true;
    if (first !== undefined) this.seen.delete(key);
    if (windowMs <= 0) return false;
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) {
        this.seen.delete(oldest.value);
        this.evictedEarly++;
      }
    }
    this.seen.set(key, nowMs);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(nowMs: number, windowMs: number): void {
    // Bounded work per call keeps one click's latency flat after a long idle period.
    let budget = 64;
    for (const [key, at] of this.seen) {
      if (nowMs - at < windowMs || budget-- === 0) break;
      this.seen.delete(key);
    }
  }
}
