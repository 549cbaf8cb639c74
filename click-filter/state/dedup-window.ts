// "Have I seen this click in the last W ms?" with bounded memory. Maps from click key to the
// time it was first seen, split in shards by key (shards.ts says why: a single Map of 500,000
// clicks held the event loop for tens of ms whenever it grew or rehashed), and beside them the
// order the clicks were recorded in (fifo.ts says why not the Maps' own order). Records come in
// clock order, so the expired ones are at the front of that order and are dropped from there
// (amortised O(1) per click). When the window is full the oldest entry is dropped early and
// counted: the window is then shorter than configured, which the hourly correction and billing's
// at-most-once charge per click id cover (docs/clicks-and-billing.md).
//
// Concurrency: used from the event loop only; every call is synchronous.

import { Fifo } from './fifo.js';
import { newShards, shardOf } from './shards.js';

export class DedupWindow {
  private readonly shards = newShards<number>();
  /** (key, time) of every entry in the order recorded, plus stale records of entries since dropped. */
  private readonly order = new Fifo();
  private total = 0;
  /** Entries dropped before their window ended because the window was full. */
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
    const shard = this.shards[shardOf(key)]!;
    const first = shard.get(key);
    if (first !== undefined && nowMs - first < windowMs) return true;
    if (first !== undefined) {
      shard.delete(key);
      this.total--;
    }
    if (windowMs <= 0) return false;
    if (this.total >= this.maxEntries) this.evictOldest();
    shard.set(key, nowMs);
    this.total++;
    this.order.push(key, nowMs);
    return false;
  }

  get size(): number {
    return this.total;
  }

  /**
   * Takes the oldest record off the order; deletes its entry when the record is still the
   * entry's (a key dropped, or recorded again after its window, left a stale record). True when
   * an entry was deleted.
   */
  private popOldest(): boolean {
    const key = this.order.peekKey()!;
    const at = this.order.peekValue();
    this.order.shift();
    const shard = this.shards[shardOf(key)]!;
    if (shard.get(key) !== at) return false;
    shard.delete(key);
    this.total--;
    return true;
  }

  private evictOldest(): void {
    while (this.order.length > 0)
      if (this.popOldest()) {
        this.evictedEarly++;
        return;
      }
  }

  private expire(nowMs: number, windowMs: number): void {
    // Bounded work per call keeps one click's latency flat after a long idle period.
    let budget = 64;
    while (budget-- > 0 && this.order.length > 0 && nowMs - this.order.peekValue() >= windowMs)
      this.popOldest();
  }
}
