// Sliding-window rate limiting per key (user or IP) with bounded memory. For a limit of `max`
// clicks per `windowMs`, each key keeps the times of its last `max` attempts in a small ring: an
// attempt is over the limit when the ring is full and its oldest time is still inside the window
// (so this is an exact sliding window of attempts, not a fixed-bucket approximation). Every
// attempt that reaches the rule is recorded, rejected or not, so a client that keeps hammering
// stays limited.
//
// Memory: at most `maxKeys` keys, found through Maps split in shards by key (shards.ts), each
// key's slot chained in a doubly linked list from the least to the most recently touched, so the
// key dropped when full is the one idle longest, in O(1); the dropped key's slot is the new key's.
// The list replaced the Map's own order (touching deleted and re-inserted the key): V8 leaves a
// hole per deleted entry, rehashed the whole Map every few seconds under load, and once the
// window was full every new key's eviction started an iterator that skipped all the holes at the
// front: 57 us an attempt with 250,000 keys cycling through a 200,000-key window (measured on this
// machine, Node 20).
//
// Why typed arrays by slot (times, ring positions, the list's links) and not an object and an
// array per key: those were half of the filter's heap at 5,000 clicks/s (265,000 rings: 40 MB of
// array elements, 19 MB of objects, 8 MB of arrays in a 133 MB heap), and every full GC had to
// mark them while its concurrent marking took CPU from the event loop. Typed arrays are not
// traced: the live heap after a 25 s run's full GC is 48 MB instead of 87 (BENCHMARKS.md, "Night
// of 2026-12-08"). The arrays grow by doubling up to maxKeys slots; when `max` changes at run
// time, the rings are laid out again with the new size, each keeping its newest attempts.
//
// Concurrency: event-loop only, synchronous.
import { newShards, shardOf } from './shards.js';

const NONE = -1;
const FIRST_CAPACITY = 1024;

export class RateWindow {
  /** Key -> slot. */
  private readonly shards = newShards<number>();
  /** Slot -> key (to drop the key of an evicted slot from its shard). */
  private keys: string[] = [];
  /** Slot s's ring is times[s * stride .. s * stride + stride - 1]. */
  private times = new Float64Array(0);
  /** Where slot s writes its next attempt, and how many attempts its ring holds. */
  private next = new Int32Array(0);
  private count = new Int32Array(0);
  /** Neighbours in the recency list (NONE at its ends). */
  private older = new Int32Array(0);
  private newer = new Int32Array(0);
  /** Ring size: the `max` the rings are laid out for. */
  private stride = 0;
  private capacity = 0;
  private total = 0;
  /** The least recently touched slot (the next to drop) and the most recently touched. */
  private oldest = NONE;
  private newest = NONE;
  /** Keys dropped because the window was full. */
  evicted = 0;

  constructor(private readonly maxKeys: number) {
    if (!(maxKeys >= 1)) throw new RangeError('maxKeys must be >= 1');
  }

  /**
   * Records an attempt of `key` at `nowMs`; returns true when it is over the limit (more than
   * `max` attempts within `windowMs`, this one included). `max` 0 turns the limit off.
   */
  overLimit(key: string, nowMs: number, max: number, windowMs: number): boolean {
    if (max <= 0) return false;
    if (max !== this.stride) this.restride(max);
    const shard = this.shards[shardOf(key)]!;
    let slot = shard.get(key);
    if (slot === undefined) {
      if (this.total >= this.maxKeys) slot = this.evictIdlest();
      else {
        slot = this.total;
        if (slot >= this.capacity) this.grow();
      }
      this.keys[slot] = key;
      shard.set(key, slot);
      this.total++;
      this.next[slot] = 0;
      this.count[slot] = 0;
    } else {
      this.unlink(slot);
    }
    this.append(slot);
    // The oldest of the last `max` attempts sits at `next` once the ring is full.
    const at = slot * max;
    const next = this.next[slot]!;
    const count = this.count[slot]!;
    const over = count === max && nowMs - this.times[at + next]! < windowMs;
    this.times[at + next] = nowMs;
    this.next[slot] = next + 1 === max ? 0 : next + 1;
    if (count < max) this.count[slot] = count + 1;
    return over;
  }

  get size(): number {
    return this.total;
  }

  /** Drops the idlest key; returns its slot, free for the caller. */
  private evictIdlest(): number {
    const slot = this.oldest;
    this.unlink(slot);
    this.shards[shardOf(this.keys[slot]!)]!.delete(this.keys[slot]!);
    this.total--;
    this.evicted++;
    return slot;
  }

  private unlink(slot: number): void {
    const older = this.older[slot]!;
    const newer = this.newer[slot]!;
    if (older === NONE) this.oldest = newer;
    else this.newer[older] = newer;
    if (newer === NONE) this.newest = older;
    else this.older[newer] = older;
    this.older[slot] = NONE;
    this.newer[slot] = NONE;
  }

  private append(slot: number): void {
    this.older[slot] = this.newest;
    this.newer[slot] = NONE;
    if (this.newest === NONE) this.oldest = slot;
    else this.newer[this.newest] = slot;
    this.newest = slot;
  }

  /** Doubles the slots (up to maxKeys). Slots in use are 0 .. total - 1: a freed slot is reused at once. */
  private grow(): void {
    const capacity = Math.min(this.maxKeys, Math.max(FIRST_CAPACITY, this.capacity * 2));
    const times = new Float64Array(capacity * this.stride);
    times.set(this.times);
    this.times = times;
    for (const name of ['next', 'count', 'older', 'newer'] as const) {
      const grown = new Int32Array(capacity);
      grown.set(this[name]);
      this[name] = grown;
    }
    this.capacity = capacity;
  }

  /** Lays the rings out for a new `max`, each keeping its newest attempts, oldest first. */
  private restride(max: number): void {
    const old = this.stride;
    const times = new Float64Array(this.capacity * max);
    for (let slot = 0; slot < this.total; slot++) {
      const count = this.count[slot]!;
      const kept = Math.min(count, max);
      // The ring's oldest attempt is at `next` when it is full, else at 0.
      const start = count === old ? this.next[slot]! : 0;
      for (let i = 0; i < kept; i++)
        times[slot * max + i] = this.times[slot * old + ((start + count - kept + i) % old)]!;
      this.count[slot] = kept;
      this.next[slot] = kept % max;
    }
    this.times = times;
    this.stride = max;
  }
}
