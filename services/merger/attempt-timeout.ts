// How long one searcher attempt may take before the merger gives up on it, adapted to what the
// column's replicas have measured lately instead of a fixed number. A fixed attempt timeout drops
// a column's ads as soon as the machine is merely busy (every replica is slow together, so the
// retry is as slow as the attempt and the deadline passes); this one lets an attempt run for a
// multiple of the column's recent p99, never less than the configured floor, never beyond the
// query's remaining time. When no other healthy replica could take a retry, the attempt gets all
// of the remaining time: cutting it short could only turn a late answer into a missing column.
//
// Concurrency: single event loop; observe() and timeoutMs() are synchronous bookkeeping.

/** Successful attempt latencies kept per column (a ring), and how often the p99 is recomputed. */
const WINDOW = 256;
const RECOMPUTE_EVERY = 32;

export interface AttemptTimeoutOptions {
  /** The configured attempt timeout: the floor (ms). */
  floorMs: number;
  /** An attempt may run this many times the column's recent p99 (default 4). */
  p99Multiple?: number;
}

class ColumnLatency {
  private readonly ring = new Float64Array(WINDOW);
  private size = 0;
  private next = 0;
  private sinceRecompute = 0;
  p99Ms = 0;

  observe(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    if (this.size < WINDOW) this.size++;
    if (++this.sinceRecompute >= RECOMPUTE_EVERY || this.size < RECOMPUTE_EVERY) {
      this.sinceRecompute = 0;
      const sorted = this.ring.slice(0, this.size).sort();
      this.p99Ms = sorted[Math.min(this.size - 1, Math.floor(this.size * 0.99))]!;
    }
  }
}

export class AttemptTimeouts {
  private readonly columns: ColumnLatency[] = [];
  private readonly multiple: number;

  constructor(private readonly options: AttemptTimeoutOptions) {
    this.multiple = options.p99Multiple ?? 4;
  }

  /** A successful attempt of `column` took `ms`. */
  observe(column: number, ms: number): void {
    let c = this.columns[column];
    if (c === undefined) {
      c = new ColumnLatency();
      this.columns[column] = c;
    }
    c.observe(ms);
  }

  /** The column's recent p99 of successful attempts (ms; 0 before any). */
  p99Ms(column: number): number {
    return this.columns[column]?.p99Ms ?? 0;
  }

  /**
   * The timeout of the next attempt of `column` (ms, at least 1): `remainingMs` when no retry could
   * follow, else max(floor, multiple x recent p99) capped by `remainingMs`.
   */
  timeoutMs(column: number, remainingMs: number, retryPossible: boolean): number {
    const remaining = Math.max(1, remainingMs);
    if (!retryPossible) return remaining;
    const adaptive = Math.max(this.options.floorMs, Math.ceil(this.multiple * this.p99Ms(column)));
    return Math.max(1, Math.min(adaptive, remaining));
  }
}
