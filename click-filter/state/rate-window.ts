// Sliding-window rate limiting per key (user or IP) with bounded memory. For a limit of `max`
// clicks per `windowMs`, each key keeps the times of its last `max` attempts in a small ring: an
// attempt is over the limit when the ring is full and its oldest time is still inside the window
// (so this is an exact sliding window of attempts, not a fixed-bucket approximation). Every
// attempt that reaches the rule is recorded, rejected or not, so a client that keeps hammering
// stays limited.
//
// Memory: at most `maxKeys` keys; a Map in least-recently-touched order (touching re-inserts the
// key), so the key dropped when full is the one idle longest. Rings are resized when `max`
// changes at run time.
//
// Concurrency: event-loop only, synchronous.

interface Ring {
  times: number[];
  next: number;
  count: number;
}

export class RateWindow {
  private readonly keys = new Map<string, Ring>();
  /** Keys dropped because the map was full. */
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
    let ring = this.keys.get(key);
    if (ring === undefined) {
      if (this.keys.size >= this.maxKeys) {
        const idle = this.keys.keys().next();
        if (!idle.done) {
          this.keys.delete(idle.value);
          this.evicted++;
        }
      }
      ring = { times: new Array<number>(max).fill(0), next: 0, count: 0 };
    } else {
      this.keys.delete(key);
      if (ring.times.length !== max) ring = resize(ring, max);
    }
    this.keys.set(key, ring);
    // The oldest of the last `max` attempts sits at `next` once the ring is full.
    const over = ring.count === max && nowMs - ring.times[ring.next]! < windowMs;
    ring.times[ring.next] = nowMs;
    ring.next = (ring.next + 1) % max;
    if (ring.count < max) ring.count++;
    return over;
  }

  get size(): number {
    return this.keys.size;
  }
}

function resize(ring: Ring, max: number): Ring {
  // Oldest to newest, then keep the newest `max`.
  const ordered: number[] = [];
  const start = ring.count === ring.times.length ? ring.next : 0;
  for (let i = 0; i < ring.count; i++) ordered.push(ring.times[(start + i) % ring.times.length]!);
  const kept = ordered.slice(-max);
  const times = new Array<number>(max).fill(0);
  for (let i = 0; i < kept.length; i++) times[i] = kept[i]!;
  return { times, next: kept.length % max, count: kept.length };
}
