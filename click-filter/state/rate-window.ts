// Sliding-window rate limiting per key (user or IP) with bounded memory. For a limit of `max`
// clicks per `windowMs`, each key keeps the times of its last `max` attempts in a small ring: an
// attempt is over the limit when the ring is full and its oldest time is still inside the window
// (so this is an exact sliding window of attempts, not a fixed-bucket approximation). Every
// attempt that reaches the rule is recorded, rejected or not, so a client that keeps hammering
// stays limited.
//
// Memory: at most `maxKeys` keys, found through Maps split in shards by key (shards.ts), and
// chained in a doubly linked list from the least to the most recently touched, so the key
// dropped when full is the one idle longest, in O(1). The list replaced the Map's own order
// (touching deleted and re-inserted the key): V8 leaves a hole per deleted entry, rehashed the
// whole Map every few seconds under load, and once the window was full every new key's eviction
// started an iterator that skipped all the holes at the front: 57 us an attempt with 250,000 keys
// cycling through a 200,000-key window (measured on this machine, Node 20). Rings are resized when
// `max` changes at run time.
//
// Concurrency: event-loop only, synchronous.
import { newShards, shardOf } from './shards.js';

interface Ring {
  readonly key: string;
  times: number[];
  next: number;
  count: number;
  /** Neighbours in the recency list (null at its ends). */
  older: Ring | null;
  newer: Ring | null;
}

export class RateWindow {
  private readonly shards = newShards<Ring>();
  private total = 0;
  /** The least recently touched key's ring (the next to drop) and the most recently touched. */
  private oldest: Ring | null = null;
  private newest: Ring | null = null;
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
    const shard = this.shards[shardOf(key)]!;
    let ring = shard.get(key);
    if (ring === undefined) {
      if (this.total >= this.maxKeys) this.evictIdlest();
      ring = { key, times: new Array<number>(max).fill(0), next: 0, count: 0, older: null, newer: null };
      shard.set(key, ring);
      this.total++;
    } else {
      this.unlink(ring);
      if (ring.times.length !== max) resize(ring, max);
    }
    this.append(ring);
    // The oldest of the last `max` attempts sits at `next` once the ring is full.
    const over = ring.count === max && nowMs - ring.times[ring.next]! < windowMs;
    ring.times[ring.next] = nowMs;
    ring.next = (ring.next + 1) % max;
    if (ring.count < max) ring.count++;
    return over;
  }

  get size(): number {
    return this.total;
  }

  private evictIdlest(): void {
    const ring = this.oldest;
    if (ring === null) return;
    this.unlink(ring);
    this.shards[shardOf(ring.key)]!.delete(ring.key);
    this.total--;
    this.evicted++;
  }

  private unlink(ring: Ring): void {
    if (ring.older === null) this.oldest = ring.newer;
    else ring.older.newer = ring.newer;
    if (ring.newer === null) this.newest = ring.older;
    else ring.newer.older = ring.older;
    ring.older = null;
    ring.newer = null;
  }

  private append(ring: Ring): void {
    ring.older = this.newest;
    if (this.newest === null) this.oldest = ring;
    else this.newest.newer = ring;
    this.newest = ring;
  }
}

/** Keeps the newest `max` attempts of a ring, oldest to newest, in a ring of size `max`. */
function resize(ring: Ring, max: number): void {
  const ordered: number[] = [];
  const start = ring.count === ring.times.length ? ring.next : 0;
  for (let i = 0; i < ring.count; i++) ordered.push(ring.times[(start + i) % ring.times.length]!);
  const kept = ordered.slice(-max);
  const times = new Array<number>(max).fill(0);
  for (let i = 0; i < kept.length; i++) times[i] = kept[i]!;
  ring.times = times;
  ring.next = kept.length % max;
  ring.count = kept.length;
}
